import type { Pool, Queryable } from './pool';

/** Which order_events a re-publish run re-sends. */
export interface RepublishFilter {
  since: Date;
  until?: Date | undefined;
  orderId?: string | undefined;
  type?: string | undefined;
}

/** An order_events row as it is re-published: the payload as stored, byte for byte the relay's value. */
export interface RepublishEvent {
  id: string;
  orderId: string;
  orderVersion: number;
  type: string;
  actorRole: string;
  payload: string;
  occurredAt: Date;
}

export interface RepublishRun {
  id: string;
  total: number;
  sent: number;
  /** The last event sent; null before the first. */
  cursor: { occurredAt: Date; orderId: string; orderVersion: number } | null;
  finishedAt: Date | null;
}

const FILTER = `occurred_at >= $1 AND ($2::timestamptz IS NULL OR occurred_at < $2) AND ($3::uuid IS NULL OR order_id = $3) AND ($4::text IS NULL OR type = $4)`;
const filterParams = (filter: RepublishFilter): unknown[] => [
  filter.since,
  filter.until ?? null,
  filter.orderId ?? null,
  filter.type ?? null,
];

/** The filter as one comparable text: an unfinished run of the same filter is resumed. */
export function republishFilterKey(filter: RepublishFilter, topic: string): string {
  return JSON.stringify([
    topic,
    filter.since.toISOString(),
    filter.until?.toISOString() ?? null,
    filter.orderId ?? null,
    filter.type ?? null,
  ]);
}

/** How many events the filter selects. */
export async function countRepublishEvents(db: Queryable, filter: RepublishFilter): Promise<number> {
  const result = await db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM order_events WHERE ${FILTER}`, filterParams(filter));
  return result.rows[0]?.n ?? 0;
}

/** The next `limit` events after `cursor`, in (occurred_at, order_id, order_version) order: each order's in version order. */
export async function nextRepublishEvents(
  db: Queryable,
  filter: RepublishFilter,
  cursor: RepublishRun['cursor'],
  limit: number,
): Promise<RepublishEvent[]> {
  const result = await db.query<{
    id: string;
    order_id: string;
    order_version: number;
    type: string;
    actor_role: string;
    payload: string;
    occurred_at: Date;
  }>(
    `SELECT id, order_id, order_version, type, actor_role, payload::text AS payload, occurred_at
       FROM order_events
      WHERE ${FILTER} AND ($5::timestamptz IS NULL OR (occurred_at, order_id, order_version) > ($5, $6::uuid, $7::integer))
      ORDER BY occurred_at, order_id, order_version
      LIMIT $8`,
    [...filterParams(filter), cursor?.occurredAt ?? null, cursor?.orderId ?? null, cursor?.orderVersion ?? null, limit],
  );
  return result.rows.map((row) => ({
    id: row.id,
    orderId: row.order_id,
    orderVersion: row.order_version,
    type: row.type,
    actorRole: row.actor_role,
    payload: row.payload,
    occurredAt: row.occurred_at,
  }));
}

interface RunRow {
  id: string;
  total: number;
  sent: number;
  cursor_occurred_at: Date | null;
  cursor_order_id: string | null;
  cursor_order_version: number | null;
  finished_at: Date | null;
}

const toRun = (row: RunRow): RepublishRun => ({
  id: row.id,
  total: row.total,
  sent: row.sent,
  cursor:
    row.cursor_occurred_at === null || row.cursor_order_id === null || row.cursor_order_version === null
      ? null
      : { occurredAt: row.cursor_occurred_at, orderId: row.cursor_order_id, orderVersion: row.cursor_order_version },
  finishedAt: row.finished_at,
});

/** The newest unfinished run of this filter, if any. */
export async function findUnfinishedRepublishRun(db: Queryable, filterKey: string): Promise<RepublishRun | undefined> {
  const result = await db.query<RunRow>(
    `SELECT * FROM republish_runs WHERE filter_key = $1 AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1`,
    [filterKey],
  );
  return result.rows[0] === undefined ? undefined : toRun(result.rows[0]);
}

/** Records a new run (the audit row: what, by whom, why). */
export async function startRepublishRun(
  db: Queryable,
  run: { id: string; filterKey: string; filter: RepublishFilter; topic: string; by: string; reason: string; total: number },
): Promise<RepublishRun> {
  const result = await db.query<RunRow>(
    `INSERT INTO republish_runs (id, filter_key, since, until, order_id, event_type, topic, requested_by, reason, total)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [run.id, run.filterKey, ...filterParams(run.filter), run.topic, run.by, run.reason, run.total],
  );
  return toRun(result.rows[0]!);
}

/** Moves the run's cursor past `last` (sent and acknowledged by Kafka). */
export async function advanceRepublishRun(db: Queryable, id: string, last: RepublishEvent, count: number): Promise<void> {
  await db.query(
    `UPDATE republish_runs SET sent = sent + $2, cursor_occurred_at = $3, cursor_order_id = $4, cursor_order_version = $5 WHERE id = $1`,
    [id, count, last.occurredAt, last.orderId, last.orderVersion],
  );
}

export async function finishRepublishRun(db: Pool | Queryable, id: string): Promise<void> {
  await db.query(`UPDATE republish_runs SET finished_at = now() WHERE id = $1`, [id]);
}
