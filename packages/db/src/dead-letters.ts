import { createHash } from 'node:crypto';
import { SettleError } from '@settle/domain';
import { inTransaction, type Pool, type Queryable } from './pool';

/** One message of the dead-letter topic, as the mirror stores it. */
export interface DeadLetterRecord {
  dltTopic: string;
  dltPartition: number;
  dltOffset: string;
  dltTimestamp: Date;
  originalTopic: string;
  originalPartition: number | null;
  originalOffset: string | null;
  originalTimestamp: string | null;
  consumerGroup: string | null;
  exceptionClass: string;
  exceptionMessage: string;
  exceptionStacktrace: string | null;
  attempts: number;
  eventId: string | null;
  eventType: string | null;
  orderId: string | null;
  merchantIds: string[];
  channel: 'socket' | 'webhook';
  webhookEndpointId: string | null;
  key: string | null;
  value: Buffer | null;
  originalHeaders: Record<string, string>;
  replayCount: number;
}

export type DeadLetterStatus = 'open' | 'replayed' | 'parked' | 'resolved';

export interface DeadLetter extends DeadLetterRecord {
  id: number;
  status: DeadLetterStatus;
  lastReplayedAt: Date | null;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
}

/** Stores a DLT message once (idempotent on topic/partition/offset); returns its id. */
export async function mirrorDeadLetter(db: Queryable, record: DeadLetterRecord): Promise<number> {
  const result = await db.query<{ id: string }>(
    `INSERT INTO dead_letters (dlt_topic, dlt_partition, dlt_offset, dlt_timestamp, original_topic, original_partition, original_offset,
                               original_timestamp, consumer_group, exception_class, exception_message, exception_stacktrace, attempts,
                               event_id, event_type, order_id, merchant_ids, channel, webhook_endpoint_id, message_key, message_value,
                               original_headers, replay_count)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
     ON CONFLICT (dlt_topic, dlt_partition, dlt_offset) DO UPDATE SET mirrored_at = dead_letters.mirrored_at
     RETURNING id`,
    [
      record.dltTopic,
      record.dltPartition,
      record.dltOffset,
      record.dltTimestamp,
      record.originalTopic,
      record.originalPartition,
      record.originalOffset,
      record.originalTimestamp,
      record.consumerGroup,
      record.exceptionClass,
      record.exceptionMessage,
      record.exceptionStacktrace,
      record.attempts,
      record.eventId,
      record.eventType,
      record.orderId,
      record.merchantIds,
      record.channel,
      record.webhookEndpointId,
      record.key,
      record.value,
      JSON.stringify(record.originalHeaders),
      record.replayCount,
    ],
  );
  return Number(result.rows[0]?.id);
}

/** Filters of `settle-ops dlq list` / `replay`. */
export interface DeadLetterFilter {
  /** Only letters that reached the DLT at or after this time. */
  since?: Date | undefined;
  /** Event type, e.g. `order.completed`. */
  type?: string | undefined;
  /** Substring of the exception class or message, case-insensitive. */
  error?: string | undefined;
  /** Merchant named by the event. */
  merchant?: string | undefined;
  /** @default ['open'] for replay; any for list */
  statuses?: DeadLetterStatus[] | undefined;
  /** Only ids above this (replay cursor). */
  afterId?: number | undefined;
  limit?: number | undefined;
}

interface DeadLetterRow {
  id: string;
  dlt_topic: string;
  dlt_partition: number;
  dlt_offset: string;
  dlt_timestamp: Date;
  original_topic: string;
  original_partition: number | null;
  original_offset: string | null;
  original_timestamp: string | null;
  consumer_group: string | null;
  exception_class: string;
  exception_message: string;
  exception_stacktrace: string | null;
  attempts: number;
  event_id: string | null;
  event_type: string | null;
  order_id: string | null;
  merchant_ids: string[];
  channel: 'socket' | 'webhook';
  webhook_endpoint_id: string | null;
  message_key: string | null;
  message_value: Buffer | null;
  original_headers: Record<string, string>;
  status: DeadLetterStatus;
  replay_count: number;
  last_replayed_at: Date | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

const toDeadLetter = (row: DeadLetterRow): DeadLetter => ({
  id: Number(row.id),
  dltTopic: row.dlt_topic,
  dltPartition: row.dlt_partition,
  dltOffset: row.dlt_offset,
  dltTimestamp: row.dlt_timestamp,
  originalTopic: row.original_topic,
  originalPartition: row.original_partition,
  originalOffset: row.original_offset,
  originalTimestamp: row.original_timestamp,
  consumerGroup: row.consumer_group,
  exceptionClass: row.exception_class,
  exceptionMessage: row.exception_message,
  exceptionStacktrace: row.exception_stacktrace,
  attempts: row.attempts,
  eventId: row.event_id,
  eventType: row.event_type,
  orderId: row.order_id,
  merchantIds: row.merchant_ids,
  channel: row.channel,
  webhookEndpointId: row.webhook_endpoint_id,
  key: row.message_key,
  value: row.message_value,
  originalHeaders: row.original_headers,
  status: row.status,
  replayCount: row.replay_count,
  lastReplayedAt: row.last_replayed_at,
  resolvedAt: row.resolved_at,
  resolvedBy: row.resolved_by,
  resolutionNote: row.resolution_note,
});

function whereOf(filter: DeadLetterFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown): void => {
    params.push(value);
    clauses.push(clause.replace('?', `$${params.length}`));
  };
  if (filter.since !== undefined) add('dlt_timestamp >= ?', filter.since);
  if (filter.type !== undefined) add('event_type = ?', filter.type);
  if (filter.error !== undefined)
    add(
      `(exception_class || ' ' || exception_message) ILIKE '%' || ? || '%'`,
      filter.error.replace(/[\\%_]/g, (c) => `\\${c}`),
    );
  if (filter.merchant !== undefined) add('? = ANY(merchant_ids)', filter.merchant);
  if (filter.statuses !== undefined && filter.statuses.length > 0) add('status = ANY(?::text[])', filter.statuses);
  if (filter.afterId !== undefined) add('id > ?', filter.afterId);
  return { sql: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, params };
}

/** Dead letters matching the filter, oldest first. @default limit 100 */
export async function listDeadLetters(db: Queryable, filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
  const where = whereOf(filter);
  const result = await db.query<DeadLetterRow>(`SELECT * FROM dead_letters ${where.sql} ORDER BY id LIMIT $${where.params.length + 1}`, [
    ...where.params,
    filter.limit ?? 100,
  ]);
  return result.rows.map(toDeadLetter);
}

/** How many dead letters match the filter. */
export async function countDeadLetters(db: Queryable, filter: DeadLetterFilter = {}): Promise<number> {
  const where = whereOf(filter);
  const result = await db.query<{ count: string }>(`SELECT count(*) AS count FROM dead_letters ${where.sql}`, where.params);
  return Number(result.rows[0]?.count ?? 0);
}

/** One dead letter with its audit trail; NOT_FOUND when there is none with that id. */
export async function getDeadLetter(db: Queryable, id: number): Promise<DeadLetter & { audit: DeadLetterAuditEntry[] }> {
  const result = await db.query<DeadLetterRow>(`SELECT * FROM dead_letters WHERE id = $1`, [id]);
  const row = result.rows[0];
  if (row === undefined) throw new SettleError('NOT_FOUND', `dead letter ${id} was not found`);
  return { ...toDeadLetter(row), audit: await deadLetterAudit(db, id) };
}

export interface DeadLetterAuditEntry {
  action: 'replay' | 'park' | 'resolve';
  actor: string;
  reason: string;
  details: Record<string, unknown>;
  at: Date;
}

export async function deadLetterAudit(db: Queryable, id: number): Promise<DeadLetterAuditEntry[]> {
  const result = await db.query<DeadLetterAuditEntry>(
    `SELECT action, actor, reason, details, at FROM dead_letter_audit WHERE dead_letter_id = $1 ORDER BY id`,
    [id],
  );
  return result.rows;
}

/** Closes a dead letter by hand (with who and why in the audit table). CONFLICT when it is already resolved. */
export async function resolveDeadLetter(pool: Pool, id: number, actor: string, note: string): Promise<DeadLetter> {
  return inTransaction(pool, async (client) => {
    const result = await client.query<DeadLetterRow>(`SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE`, [id]);
    const row = result.rows[0];
    if (row === undefined) throw new SettleError('NOT_FOUND', `dead letter ${id} was not found`);
    if (row.status === 'resolved')
      throw new SettleError('CONFLICT', `dead letter ${id} was already resolved by ${row.resolved_by ?? 'someone'}`);
    const updated = await client.query<DeadLetterRow>(
      `UPDATE dead_letters SET status = 'resolved', resolved_at = now(), resolved_by = $2, resolution_note = $3 WHERE id = $1 RETURNING *`,
      [id, actor, note],
    );
    await client.query(
      `INSERT INTO dead_letter_audit (dead_letter_id, action, actor, reason, details) VALUES ($1, 'resolve', $2, $3, $4)`,
      [id, actor, note, JSON.stringify({ previousStatus: row.status })],
    );
    return toDeadLetter(updated.rows[0] as DeadLetterRow);
  });
}

/**
 * Claims a dead letter for a replay inside the caller's transaction: locks it, and either counts the replay
 * (`replay`) or parks it when it was replayed `maxReplays` times already (`park`); `skip` when it is no longer
 * open. Writes the audit row. The caller publishes the message and commits.
 */
export async function claimDeadLetterReplay(
  db: Queryable,
  id: number,
  actor: string,
  reason: string,
  maxReplays: number,
): Promise<{ action: 'replay'; letter: DeadLetter } | { action: 'park' | 'skip'; letter: DeadLetter }> {
  const result = await db.query<DeadLetterRow>(`SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE`, [id]);
  const row = result.rows[0];
  if (row === undefined) throw new SettleError('NOT_FOUND', `dead letter ${id} was not found`);
  const letter = toDeadLetter(row);
  if (row.status !== 'open') return { action: 'skip', letter };
  if (row.replay_count >= maxReplays) {
    await db.query(`UPDATE dead_letters SET status = 'parked' WHERE id = $1`, [id]);
    await db.query(`INSERT INTO dead_letter_audit (dead_letter_id, action, actor, reason, details) VALUES ($1, 'park', $2, $3, $4)`, [
      id,
      actor,
      reason,
      JSON.stringify({ replayCount: row.replay_count, maxReplays }),
    ]);
    return { action: 'park', letter: { ...letter, status: 'parked' } };
  }
  await db.query(`UPDATE dead_letters SET status = 'replayed', replay_count = replay_count + 1, last_replayed_at = now() WHERE id = $1`, [
    id,
  ]);
  await db.query(`INSERT INTO dead_letter_audit (dead_letter_id, action, actor, reason, details) VALUES ($1, 'replay', $2, $3, $4)`, [
    id,
    actor,
    reason,
    JSON.stringify({ replayCount: row.replay_count + 1, topic: row.original_topic }),
  ]);
  return { action: 'replay', letter: { ...letter, status: 'replayed', replayCount: row.replay_count + 1 } };
}

/** A stable key of a replay filter (same filter → same resumable cursor). */
export function replayFilterKey(filter: DeadLetterFilter): string {
  const normal = {
    since: filter.since?.toISOString() ?? null,
    type: filter.type ?? null,
    error: filter.error ?? null,
    merchant: filter.merchant ?? null,
  };
  return createHash('sha256').update(JSON.stringify(normal)).digest('hex').slice(0, 32);
}

export interface ReplayCursor {
  filterKey: string;
  lastId: number;
  replayed: number;
  finished: boolean;
}

/** The cursor of an unfinished replay with this filter, or a new one starting at 0. */
export async function openReplayCursor(db: Queryable, filter: DeadLetterFilter, actor: string, restart: boolean): Promise<ReplayCursor> {
  const key = replayFilterKey(filter);
  const normal = { since: filter.since?.toISOString(), type: filter.type, error: filter.error, merchant: filter.merchant };
  const result = await db.query<{ last_id: string; replayed: number; finished_at: Date | null }>(
    `INSERT INTO dead_letter_replay_cursors (filter_key, filter, started_by) VALUES ($1, $2, $3)
     ON CONFLICT (filter_key) DO UPDATE SET
       last_id = CASE WHEN $4 OR dead_letter_replay_cursors.finished_at IS NOT NULL THEN 0 ELSE dead_letter_replay_cursors.last_id END,
       replayed = CASE WHEN $4 OR dead_letter_replay_cursors.finished_at IS NOT NULL THEN 0 ELSE dead_letter_replay_cursors.replayed END,
       started_by = CASE WHEN $4 OR dead_letter_replay_cursors.finished_at IS NOT NULL THEN EXCLUDED.started_by ELSE dead_letter_replay_cursors.started_by END,
       started_at = CASE WHEN $4 OR dead_letter_replay_cursors.finished_at IS NOT NULL THEN now() ELSE dead_letter_replay_cursors.started_at END,
       finished_at = NULL, updated_at = now()
     RETURNING last_id, replayed, finished_at`,
    [key, JSON.stringify(normal), actor, restart],
  );
  const row = result.rows[0];
  return { filterKey: key, lastId: Number(row?.last_id ?? 0), replayed: row?.replayed ?? 0, finished: false };
}

/** Moves a replay cursor past `lastId` (in the transaction that replayed it). */
export async function advanceReplayCursor(db: Queryable, filterKey: string, lastId: number, replayedDelta: number): Promise<void> {
  await db.query(
    `UPDATE dead_letter_replay_cursors SET last_id = GREATEST(last_id, $2), replayed = replayed + $3, updated_at = now() WHERE filter_key = $1`,
    [filterKey, lastId, replayedDelta],
  );
}

export async function finishReplayCursor(db: Queryable, filterKey: string): Promise<void> {
  await db.query(`UPDATE dead_letter_replay_cursors SET finished_at = now(), updated_at = now() WHERE filter_key = $1`, [filterKey]);
}
