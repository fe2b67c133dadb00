import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@settle/db';
import { createKafka, deadLetterTopic } from '@settle/kafka';
import { createTestDatabase, testStack, type TestDatabase } from '@settle/testkit';
import type { RetryInfo } from '../src/consume';
import { startNotifier, type Notifier } from '../src/notifier';
import { connectClient, createTopics, eventProducer, OrderStory, testConfig, tokenFor, waitFor } from './support';

describe('a database outage during consumption', () => {
  let db: TestDatabase;
  let pool: Pool;
  let topic: string;
  let notifier: Notifier;
  let producer: Awaited<ReturnType<typeof eventProducer>>;
  const retries: RetryInfo[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('notifier_outage');
    pool = createPool(db.url, { max: 2 });
    ({ events: topic = '' } = await createTopics('notifier', [{ name: 'events', numPartitions: 1 }]));
    notifier = await startNotifier({
      config: testConfig(db.url, topic, { NOTIFIER_RETRY_BASE_MS: '50', NOTIFIER_RETRY_FACTOR: '2', NOTIFIER_RETRY_CAP_MS: '5000' }),
      port: 0,
      host: '127.0.0.1',
      onRetry: (info) => retries.push(info),
    });
    producer = await eventProducer();
  });

  afterAll(async () => {
    await setConnections(true).catch(() => undefined);
    await producer?.disconnect();
    await notifier?.stop();
    await pool?.end();
    await db?.drop();
  });

  /** The real thing: the database refuses every new connection and the open ones are terminated. */
  async function setConnections(allowed: boolean): Promise<void> {
    const admin = new pg.Client({ connectionString: testStack().adminDatabaseUrl });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(db.name)} WITH ALLOW_CONNECTIONS ${allowed}`);
      if (!allowed)
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [
          db.name,
        ]);
    } finally {
      await admin.end();
    }
  }

  it('pauses and retries with growing delays, then delivers everything, with nothing dead-lettered', async () => {
    const client = await connectClient(notifier.port, await tokenFor('merchant', 'm-outage'));
    try {
      const story = await OrderStory.completedBuy(pool, 'u-outage', 'm-outage');

      await setConnections(false);
      await producer.publish(topic, story.events);
      await waitFor(() => retries.length >= 5, 'five retries while the database is down', 30_000);
      await setConnections(true);

      await waitFor(() => client.shown.length === 5, 'every event after the database came back', 30_000);
      expect(client.shown.map((n) => n.orderVersion)).toEqual([1, 2, 3, 4, 5]);

      // The same chunk was retried, each time after a longer wait (exponential backoff, jitter ≤ 20 %).
      const firstRun = retries.slice(0, 5);
      expect(new Set(firstRun.map((info) => info.offset)).size).toBe(1);
      expect(firstRun.map((info) => info.attempt)).toEqual([1, 2, 3, 4, 5]);
      for (let index = 1; index < firstRun.length; index += 1)
        expect(firstRun[index]!.delayMs).toBeGreaterThan(firstRun[index - 1]!.delayMs);
      expect(firstRun[0]!.delayMs).toBeLessThanOrEqual(50);
      expect(firstRun[4]!.delayMs).toBeGreaterThanOrEqual(640);

      const rows = await pool.query(`SELECT recipient, seq FROM notifications WHERE order_id = $1 ORDER BY recipient, seq`, [
        story.order.id,
      ]);
      expect(rows.rowCount).toBe(10);
      const kafka = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'outage-test' });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const offsets = await admin.fetchTopicOffsets(deadLetterTopic(topic));
        expect(offsets.reduce((sum, partition) => sum + Number(partition.high), 0)).toBe(0);
      } finally {
        await admin.disconnect();
      }
    } finally {
      client.close();
    }
  });
});
