import { deleteInBatches } from './batches';
import type { Queryable } from './pool';

// Each statement deletes at most one batch (deleteInBatches runs them until one comes back short); SKIP LOCKED
// leaves rows another session is changing (a replay resetting a dead delivery, an ops resolve) to the next round
// instead of waiting on them. The batch's keys are collected into an array first: `= ANY(array)` probes the primary
// key, where a join with the batch was planned as a hash join over the whole table. ORDER BY on the indexed column
// keeps the search on its index even when the planner expects many old rows (without it, a sequential scan looked
// cheaper under LIMIT and read every row when none was old).

/**
 * Retention (worker): deletes finished webhook deliveries (delivered or dead) whose finish is older than
 * `olderThanDays`, with their attempts, in batches of `batchSize`. Pending deliveries are never deleted.
 * @default olderThanDays 7, batchSize 5000
 */
export async function deleteFinishedWebhookDeliveries(
  db: Queryable,
  olderThanDays = 7,
  batchSize = 5_000,
): Promise<{ deliveries: number; attempts: number }> {
  // The attempts are deleted here rather than by ON DELETE CASCADE so the count is known.
  return deleteInBatches(batchSize, 'deliveries', async () => {
    const result = await db.query<{ deliveries: number; attempts: number }>(
      `WITH doomed AS (
         SELECT ARRAY(
           SELECT id FROM webhook_deliveries
            WHERE status IN ('delivered', 'dead') AND COALESCE(delivered_at, dead_at) < now() - make_interval(days => $1)
            ORDER BY COALESCE(delivered_at, dead_at)
            LIMIT $2
            FOR UPDATE SKIP LOCKED) AS ids
       ), attempts AS (
         DELETE FROM webhook_attempts WHERE delivery_id = ANY((SELECT ids FROM doomed)::uuid[]) RETURNING 1
       ), deliveries AS (
         DELETE FROM webhook_deliveries WHERE id = ANY((SELECT ids FROM doomed)::uuid[]) RETURNING 1
       )
       SELECT (SELECT count(*) FROM deliveries)::int AS deliveries, (SELECT count(*) FROM attempts)::int AS attempts`,
      [olderThanDays, batchSize],
    );
    return result.rows[0] ?? { deliveries: 0, attempts: 0 };
  });
}

/**
 * Retention (worker): deletes book events emitted more than `olderThanDays` ago, in batches of `batchSize`. Rows
 * not emitted yet are kept (a redelivery still emits them). The book-wide counter is its own row
 * (`book_sequence`), so later events keep counting from where it stands. @default olderThanDays 7, batchSize 5000
 */
export async function deleteEmittedBookEvents(db: Queryable, olderThanDays = 7, batchSize = 5_000): Promise<number> {
  // created_at first: it is indexed, and an event is emitted after it is created.
  const { events } = await deleteInBatches(batchSize, 'events', async () => {
    const result = await db.query(
      `DELETE FROM book_events WHERE event_id = ANY(ARRAY(
         SELECT event_id FROM book_events
          WHERE created_at < now() - make_interval(days => $1) AND emitted_at < now() - make_interval(days => $1)
          ORDER BY created_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED))`,
      [olderThanDays, batchSize],
    );
    return { events: result.rowCount ?? 0 };
  });
  return events;
}

/**
 * Retention (worker): deletes dead letters resolved more than `olderThanDays` ago, with their audit rows (which
 * reference them), in batches of `batchSize`. Open, replayed and parked letters are kept whatever their age.
 * @default olderThanDays 7, batchSize 5000
 */
export async function deleteResolvedDeadLetters(
  db: Queryable,
  olderThanDays = 7,
  batchSize = 5_000,
): Promise<{ deadLetters: number; audit: number }> {
  return deleteInBatches(batchSize, 'deadLetters', async () => {
    const result = await db.query<{ deadLetters: number; audit: number }>(
      `WITH doomed AS (
         SELECT ARRAY(
           SELECT id FROM dead_letters
            WHERE status = 'resolved' AND resolved_at < now() - make_interval(days => $1)
            ORDER BY id
            LIMIT $2
            FOR UPDATE SKIP LOCKED) AS ids
       ), audit AS (
         DELETE FROM dead_letter_audit WHERE dead_letter_id = ANY((SELECT ids FROM doomed)::bigint[]) RETURNING 1
       ), letters AS (
         DELETE FROM dead_letters WHERE id = ANY((SELECT ids FROM doomed)::bigint[]) RETURNING 1
       )
       SELECT (SELECT count(*) FROM letters)::int AS "deadLetters", (SELECT count(*) FROM audit)::int AS audit`,
      [olderThanDays, batchSize],
    );
    return result.rows[0] ?? { deadLetters: 0, audit: 0 };
  });
}
