import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@settle/db';
import { createKafka } from '@settle/kafka';
import { createTestDatabase, testStack, type TestDatabase } from '@settle/testkit';
import type { Admin } from 'kafkajs';
import { startNotifier, type Notifier } from '../src/notifier';
import { connectClient, createTopics, eventProducer, type EventProducer, OrderStory, saveOrder, testConfig, tokenFor, waitFor } from './support';

describe('offset commits', () => {
  let db: TestDatabase;
  let pool: Pool;
  let topic: string;
  let producer: EventProducer;
  let admin: Admin;
  const running: Notifier[] = [];
  const group = `settle-notifier-offsets-${Date.now().toString(36)}`;

  beforeAll(async () => {
    db = await createTestDatabase('notifier_offsets');
    pool = createPool(db.url, { max: 2 });
    ({ events: topic = '' } = await createTopics('notifier-offsets', [{ name: 'events', numPartitions: 1 }]));
    producer = await eventProducer();
    admin = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'offsets-test' }).admin();
    await admin.connect();
  });

  afterAll(async () => {
    for (const notifier of running) await notifier.stop().catch(() => undefined);
    await admin?.disconnect();
    await producer?.disconnect();
    await pool?.end();
    await db?.drop();
  });

  const committed = async (): Promise<string | undefined> => (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions[0]?.offset;
  const start = async (commitIntervalMs: string): Promise<Notifier> => {
    const notifier = await startNotifier({ config: testConfig(db.url, topic, { NOTIFIER_GROUP_ID: group, NOTIFIER_COMMIT_INTERVAL_MS: commitIntervalMs }), port: 0, host: '127.0.0.1' });
    running.push(notifier);
    return notifier;
  };

  it('commits handled offsets at most once per interval and all of them on shutdown; the next member goes on from there', async () => {
    const first = await start('60000');
    const client = await connectClient(first.port, await tokenFor('merchant', 'm-offsets'));
    const story = OrderStory.completedBuy('u-offsets', 'm-offsets');
    await saveOrder(pool, story.order);
    await producer.publish(topic, story.events);
    await waitFor(() => client.shown.length === 5, 'five notifications');
    client.close();
    // Handled and emitted, but the interval has not passed: nothing is committed yet.
    expect(await committed()).toBe('-1');

    await first.stop();
    running.splice(running.indexOf(first), 1);
    expect(await committed()).toBe('5');

    // A member that commits after every chunk starts at offset 5: it writes no row for the first five events.
    const second = await start('0');
    const next = OrderStory.create({ type: 'buy', merchantId: 'm-offsets' }, { role: 'user', id: 'u-offsets' });
    await saveOrder(pool, next.order);
    await producer.publish(topic, next.events);
    await waitFor(async () => (await committed()) === '6', 'offset 6 committed right after the sixth event', 20_000);
    const rows = await pool.query<{ seq: string; order_id: string }>(`SELECT seq, order_id FROM notifications WHERE recipient = 'merchant:m-offsets' ORDER BY seq`);
    expect(rows.rows.map((row) => [Number(row.seq), row.order_id])).toEqual([
      ...[1, 2, 3, 4, 5].map((seq) => [seq, story.order.id]),
      [6, next.order.id],
    ]);
    await second.stop();
    running.splice(running.indexOf(second), 1);
  });
});
