import type { WorkerConfig } from '@settle/config';
import {
  deleteDeliveredNotifications,
  deleteEmittedBookEvents,
  deleteFinishedWebhookDeliveries,
  deleteResolvedDeadLetters,
  type Pool,
} from '@settle/db';

/** How long each kind of row is kept, in days. */
export interface RetentionPolicy {
  /** Outbox rows, idempotency keys and delivered notifications (RETENTION_DAYS, default 7). */
  days: number;
  /** Delivered or dead webhook deliveries and their attempts, counted from the finish (RETENTION_WEBHOOK_DELIVERIES_DAYS, default 7). */
  webhookDeliveriesDays: number;
  /** Emitted book events (RETENTION_BOOK_EVENTS_DAYS, default 7). */
  bookEventsDays: number;
  /** Resolved dead letters and their audit rows, counted from the resolution (RETENTION_DEAD_LETTERS_DAYS, default 7). */
  deadLettersDays: number;
  /** Rows per delete statement. @default 5000 */
  batchSize?: number;
}

/** The retention policy the environment configures. */
export function retentionPolicy(
  config: Pick<
    WorkerConfig,
    'RETENTION_DAYS' | 'RETENTION_WEBHOOK_DELIVERIES_DAYS' | 'RETENTION_BOOK_EVENTS_DAYS' | 'RETENTION_DEAD_LETTERS_DAYS'
  >,
): RetentionPolicy {
  return {
    days: config.RETENTION_DAYS,
    webhookDeliveriesDays: config.RETENTION_WEBHOOK_DELIVERIES_DAYS,
    bookEventsDays: config.RETENTION_BOOK_EVENTS_DAYS,
    deadLettersDays: config.RETENTION_DEAD_LETTERS_DAYS,
  };
}

/** Rows deleted by one retention round, per table. */
export interface RetentionResult {
  outbox: number;
  idempotencyKeys: number;
  /** Delivered notifications (undelivered ones wait for replay whatever their age). */
  notifications: number;
  /** Delivered or dead ones only: pending deliveries are still being sent. */
  webhookDeliveries: number;
  webhookAttempts: number;
  /** Emitted ones only. */
  bookEvents: number;
  /** Resolved ones only. */
  deadLetters: number;
  deadLetterAudit: number;
}

/** The `table` label of `settle_worker_retention_deleted_total` for each field of RetentionResult. */
export const RETENTION_TABLES: Readonly<Record<keyof RetentionResult, string>> = {
  outbox: 'outbox',
  idempotencyKeys: 'idempotency_keys',
  notifications: 'notifications',
  webhookDeliveries: 'webhook_deliveries',
  webhookAttempts: 'webhook_attempts',
  bookEvents: 'book_events',
  deadLetters: 'dead_letters',
  deadLetterAudit: 'dead_letter_audit',
};

const BATCH = 5_000;

/** Deletes in bounded batches so a large backlog never holds long locks or one huge transaction. */
async function deleteOlderThan(pool: Pool, table: 'outbox' | 'idempotency_keys', cutoff: string, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await pool.query(`DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE created_at < $1 LIMIT $2)`, [
      cutoff,
      batchSize,
    ]);
    total += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < batchSize) return total;
  }
}

/**
 * One retention round: deletes outbox rows, idempotency keys and delivered notifications older than `days`
 * (outbox rows are kept for audit and re-publish; the relay never needs them once Kafka acknowledged them),
 * finished webhook deliveries, emitted book events and resolved dead letters past their own retention.
 */
export async function applyRetention(pool: Pool, policy: RetentionPolicy, now: Date = new Date()): Promise<RetentionResult> {
  const batchSize = policy.batchSize ?? BATCH;
  const cutoff = new Date(now.getTime() - policy.days * 86_400_000).toISOString();
  const outbox = await deleteOlderThan(pool, 'outbox', cutoff, batchSize);
  const idempotencyKeys = await deleteOlderThan(pool, 'idempotency_keys', cutoff, batchSize);
  const notifications = await deleteDeliveredNotifications(pool, policy.days);
  const webhooks = await deleteFinishedWebhookDeliveries(pool, policy.webhookDeliveriesDays, batchSize);
  const bookEvents = await deleteEmittedBookEvents(pool, policy.bookEventsDays, batchSize);
  const letters = await deleteResolvedDeadLetters(pool, policy.deadLettersDays, batchSize);
  return {
    outbox,
    idempotencyKeys,
    notifications,
    webhookDeliveries: webhooks.deliveries,
    webhookAttempts: webhooks.attempts,
    bookEvents,
    deadLetters: letters.deadLetters,
    deadLetterAudit: letters.audit,
  };
}
