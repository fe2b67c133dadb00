import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, inTransaction, type Pool } from '@settle/db';
import { createTestDatabase, testStack, type TestDatabase } from '@settle/testkit';
import { type Relay, startRelay } from '../src/relay';
import {
  commitRows,
  createTopics,
  firstOccurrenceVersions,
  insertOutbox,
  isOneToN,
  probe,
  relayConfig,
  startCollecting,
  waitFor,
  type Written,
} from './helpers';

describe('poll relay (RELAY_MODE=poll)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let relay: Relay;
  let topic: string;

  beforeAll(async () => {
    db = await createTestDatabase('relay_poll');
    pool = createPool(db.url, { max: 4 });
    ({ orders: topic = '' } = await createTopics('relay-poll', [{ name: 'orders', numPartitions: 3 }]));
    relay = await startRelay({
      config: relayConfig({
        DATABASE_URL: db.url,
        KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
        ORDER_EVENTS_TOPIC: topic,
        RELAY_MODE: 'poll',
        RELAY_POLL_INTERVAL_MS: '20',
        RELAY_BATCH_SIZE: '50',
      }),
      port: 0,
    });
  });

  afterAll(async () => {
    await relay?.stop();
    await pool?.end();
    await db?.drop();
  });

  it('publishes committed rows in order per key, marks them published and never publishes rolled-back rows', async () => {
    const collector = await startCollecting(testStack().kafkaBrokers, [topic]);
    try {
      const keys = Array.from({ length: 4 }, () => randomUUID());
      const versions = new Map<string, number>();
      const written: Written[] = [];
      let rolledBack = '';
      for (let round = 0; round < 30; round += 1) {
        written.push(...(await commitRows(pool, keys, versions)));
        if (round === 10) {
          await inTransaction(pool, async (client) => {
            rolledBack = (await insertOutbox(client, { aggregateid: keys[0] ?? '', version: 999 })).id;
            throw new Error('roll back on purpose');
          }).catch(() => undefined);
        }
      }
      await waitFor(() => new Set(collector.messages.map((message) => message.id)).size >= written.length, 'every committed row in Kafka');
      expect(new Set(collector.messages.map((message) => message.id))).toEqual(new Set(written.map((row) => row.id)));
      expect(collector.messages.some((message) => message.id === rolledBack)).toBe(false);
      for (const [key, seen] of firstOccurrenceVersions(collector.messages))
        expect(isOneToN(seen), `versions of ${key}: ${seen.join(',')}`).toBe(true);
      await waitFor(async () => {
        const { rows } = await pool.query<{ unpublished: string }>(
          `SELECT count(*)::text AS unpublished FROM outbox WHERE published_at IS NULL`,
        );
        return rows[0]?.unpublished === '0';
      }, 'every row marked published');
      const ready = await probe(relay.port ?? 0, '/ready');
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'ok', mode: 'poll', role: 'active', streaming: true });
      expect(collector.messages[0]?.headers['commitLsn']).toBeUndefined();
    } finally {
      await collector.stop();
    }
  });
});
