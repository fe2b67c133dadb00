import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, inTransaction, markNotificationsDelivered, type Pool } from '@settle/db';
import { createTestDatabase, type TestDatabase } from '@settle/testkit';

/** The shape of a new deployment's table: ~20k rows, half of them delivered, never analyzed. */
const RECIPIENTS = 2_000;
const ROWS = 20_000;

describe('an ack flush', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('notifier_ack_flush');
    pool = createPool(db.url, { max: 2 });
    await pool.query(`ALTER TABLE notifications SET (autovacuum_enabled = false)`);
    await pool.query(
      `INSERT INTO notifications (recipient, seq, event_id, order_id, order_version, type, created_at, delivered_at)
       SELECT 'merchant:m-' || (g % $1), g / $1 + 1, gen_random_uuid(), gen_random_uuid(), 1, 'order.created', now() - interval '1 second',
              CASE WHEN g % 2 = 0 THEN now() END
         FROM generate_series(0, $2 - 1) AS g`,
      [RECIPIENTS, ROWS],
    );
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  /** Runs the flush in a transaction and reads that transaction's scans of the notifications table. */
  async function flush(acks: Array<{ recipient: string; seq: number }>): Promise<{ latencies: number[]; seqScans: number; indexScans: number }> {
    return inTransaction(pool, async (client) => {
      const latencies = await markNotificationsDelivered(client, acks);
      const scans = await client.query<{ seq_scan: string; idx_scan: string }>(`SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'notifications'`);
      return { latencies, seqScans: Number(scans.rows[0]?.seq_scan), indexScans: Number(scans.rows[0]?.idx_scan) };
    });
  }

  it('probes the primary key for a few acks instead of scanning the table', async () => {
    // Odd recipients' rows are undelivered (g odd ⇔ recipient index odd, since RECIPIENTS is even).
    const result = await flush([1, 3, 5].map((index) => ({ recipient: `merchant:m-${index}`, seq: 2 })));
    expect(result.latencies).toHaveLength(3);
    for (const latency of result.latencies) expect(latency).toBeGreaterThan(0);
    expect(result.seqScans).toBe(0);
    expect(result.indexScans).toBeGreaterThan(0);
  });

  it('marks a thousand acks at once, each row once, and ignores acks of delivered or unknown rows', async () => {
    const acks = Array.from({ length: 1_000 }, (_, index) => ({ recipient: `merchant:m-${2 * index + 1}`, seq: 3 }));
    const first = await flush([...acks, { recipient: 'merchant:m-2', seq: 3 }, { recipient: 'merchant:nobody', seq: 1 }]);
    expect(first.latencies).toHaveLength(1_000);
    const again = await flush(acks.slice(0, 10));
    expect(again.latencies).toEqual([]);
    const left = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM notifications WHERE seq = 3 AND delivered_at IS NULL`);
    expect(Number(left.rows[0]?.n)).toBe(0);
  });
});
