import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inTransaction } from '@settle/db';
import { testStack } from '@settle/testkit';
import { commitRows, insertOutbox, probe, startCollecting, waitFor, type Written, useRelay, expectVersionsInOrder } from './helpers';

describe('poll relay (RELAY_MODE=poll)', () => {
  const poll = useRelay('relay_poll', {
    poolMax: 4,
    partitions: 3,
    env: { RELAY_MODE: 'poll', RELAY_POLL_INTERVAL_MS: '20', RELAY_BATCH_SIZE: '50' },
    start: { port: 0 },
  });

  it('publishes committed rows in order per key, marks them published and never publishes rolled-back rows', async () => {
    const collector = await startCollecting(testStack().kafkaBrokers, [poll.topic]);
    try {
      const keys = Array.from({ length: 4 }, () => randomUUID());
      const versions = new Map<string, number>();
      const written: Written[] = [];
      let rolledBack = '';
      for (let round = 0; round < 30; round += 1) {
        written.push(...(await commitRows(poll.pool, keys, versions)));
        if (round === 10) {
          await inTransaction(poll.pool, async (client) => {
            rolledBack = (await insertOutbox(client, { aggregateid: keys[0] ?? '', version: 999 })).id;
            throw new Error('roll back on purpose');
          }).catch(() => undefined);
        }
      }
      await waitFor(() => new Set(collector.messages.map((message) => message.id)).size >= written.length, 'every committed row in Kafka');
      expect(new Set(collector.messages.map((message) => message.id))).toEqual(new Set(written.map((row) => row.id)));
      expect(collector.messages.some((message) => message.id === rolledBack)).toBe(false);
      expectVersionsInOrder(collector.messages);
      await waitFor(async () => {
        const { rows } = await poll.pool.query<{ unpublished: string }>(
          `SELECT count(*)::text AS unpublished FROM outbox WHERE published_at IS NULL`,
        );
        return rows[0]?.unpublished === '0';
      }, 'every row marked published');
      const ready = await probe(poll.relay.port ?? 0, '/ready');
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'ok', mode: 'poll', role: 'active', streaming: true });
      expect(collector.messages[0]?.headers['commitLsn']).toBeUndefined();
    } finally {
      await collector.stop();
    }
  });
});
