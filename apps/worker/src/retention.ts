import { deleteDeliveredNotifications, type Pool } from '@settle/db';

export interface RetentionResult {
  outbox: number;
  idempotencyKeys: number;
  /** Delivered notifications (undelivered ones wait for replay whatever their age). */
  notifications: number;
}

const BATCH = 5_000;

/** Deletes in bounded batches so a large backlog never holds long locks or one huge transaction. */
async function deleteOlderThan(pool: Pool, table: 'outbox' | 'idempotency_keys', cutoff: string): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await pool.query(
      `DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE created_at < $1 LIMIT ${BATCH})`,
      [cutoff],
    );
    total += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < BATCH) return total;
  }
}

/**
 * Deletes outbox rows, idempotency keys and delivered notifications older than `days` (outbox rows are kept
 * for audit and re-publish; the relay never needs them once Kafka acknowledged them).
 */
export async function applyRetention(pool: Pool, days: number, now: Date = new Date()): Promise<RetentionResult> {
  const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
  return {
    outbox: await deleteOlderThan(pool, 'outbox', cutoff),
    idempotencyKeys: await deleteOlderThan(pool, 'idempotency_keys', cutoff),
    notifications: await deleteDeliveredNotifications(pool, days),
  };
}
