import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createPool, inTransaction, markNotificationsDelivered, storeNotifications, type Pool, type PoolClient } from '@settle/db';
import { createTestDatabase, type TestDatabase } from '@settle/testkit';

/** The shape of a new deployment's table: ~20k rows, half of them delivered, never analyzed. */
const RECIPIENTS = 2_000;
const ROWS = 20_000;

describe('notification statements on a new deployment’s table (~20k rows, never analyzed)', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase('notifier_table_scans');
    pool = createPool(db.url, { max: 2 });
    await pool.query(`ALTER TABLE notifications SET (autovacuum_enabled = false)`);
    await pool.query(
      `INSERT INTO notifications (recipient, seq, event_id, order_id, order_version, type, created_at, delivered_at)
       SELECT 'merchant:m-' || (g % $1), g / $1 + 1, gen_random_uuid(), gen_random_uuid(), 1, 'order.created', now() - interval '1 second',
              CASE WHEN g % 2 = 0 THEN now() END
         FROM generate_series(0, $2 - 1) AS g`,
      [RECIPIENTS, ROWS],
    );
    await pool.query(
      `INSERT INTO notification_recipients (recipient, last_seq) SELECT recipient, max(seq) FROM notifications GROUP BY recipient`,
    );
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  /**
   * Runs `work` in a transaction and counts its scans of the notifications table: pg_stat_xact_user_tables holds
   * the connection's counts not yet flushed to pg_stat, so the difference across `work` is work's own.
   */
  async function scanned<T>(work: (client: PoolClient) => Promise<T>): Promise<{ result: T; seqScans: number; indexScans: number }> {
    return inTransaction(pool, async (client) => {
      const count = async (): Promise<{ seq: number; index: number }> => {
        const scans = await client.query<{ seq_scan: string; idx_scan: string }>(
          `SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'notifications'`,
        );
        return { seq: Number(scans.rows[0]?.seq_scan ?? 0), index: Number(scans.rows[0]?.idx_scan ?? 0) };
      };
      const before = await count();
      const result = await work(client);
      const after = await count();
      return { result, seqScans: after.seq - before.seq, indexScans: after.index - before.index };
    });
  }

  const flush = async (
    acks: Array<{ recipient: string; seq: number }>,
  ): Promise<{ latencies: number[]; seqScans: number; indexScans: number }> => {
    const { result, ...scans } = await scanned((client) => markNotificationsDelivered(client, acks));
    return { latencies: result, ...scans };
  };

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

  it('writes a group of 40 notifications checking each one by index, not by scanning the table', async () => {
    const events = Array.from({ length: 20 }, () => ({ eventId: randomUUID(), orderId: randomUUID() }));
    const inputs = events.flatMap(({ eventId, orderId }, index) =>
      [`merchant:m-${index}`, `user:u-${index}`].map((recipient) => ({
        recipient,
        eventId,
        orderId,
        orderVersion: 1,
        type: 'order.created',
        payload: { eventId },
      })),
    );
    const { result, seqScans } = await scanned((client) => storeNotifications(client, inputs));
    expect(result).toHaveLength(40);
    expect(result.every((row) => row.fresh)).toBe(true);
    // merchant:m-0 had ROWS / RECIPIENTS notifications before: its new one comes next.
    expect(result.find((row) => row.recipient === 'merchant:m-0')?.seq).toBe(ROWS / RECIPIENTS + 1);
    expect(result.find((row) => row.recipient === 'user:u-0')?.seq).toBe(1);
    expect(seqScans).toBe(0);
  });
});
