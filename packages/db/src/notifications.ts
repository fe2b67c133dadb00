import type { Pool, Queryable } from './pool';

/** One private notification to write: the socket payload without its seq. */
export interface NotificationInput {
  /** `merchant:<id>`, `user:<id>` or `compliance:compliance` (domain recipientKey). */
  recipient: string;
  eventId: string;
  orderId: string;
  orderVersion: number;
  type: string;
  payload: Record<string, unknown>;
}

export interface StoredNotification {
  recipient: string;
  seq: number;
  eventId: string;
  orderId: string;
  payload: Record<string, unknown>;
  /** Written by this call (false: a redelivered event found its row). */
  fresh: boolean;
  /** A client already acknowledged it. */
  delivered: boolean;
  createdAt: Date;
}

/**
 * Writes one row per (recipient, event) inside the caller's transaction, with per-recipient gap-free seqs in input
 * order. Rows that already exist (a redelivered message) are returned as they are, never written twice. Locks
 * the recipients' counter rows in name order, so concurrent notifiers serialise per recipient without deadlock.
 */
export async function storeNotifications(client: Queryable, inputs: NotificationInput[]): Promise<StoredNotification[]> {
  const unique = new Map<string, NotificationInput>();
  for (const input of inputs) unique.set(`${input.recipient}\u0000${input.eventId}`, input);
  const items = [...unique.values()];
  if (items.length === 0) return [];
  const recipients = [...new Set(items.map((item) => item.recipient))].sort();
  await client.query(`INSERT INTO notification_recipients (recipient) SELECT r FROM unnest($1::text[]) AS r ORDER BY r ON CONFLICT DO NOTHING`, [recipients]);
  const counters = await client.query<{ recipient: string; last_seq: string }>(
    `SELECT recipient, last_seq FROM notification_recipients WHERE recipient = ANY($1::text[]) ORDER BY recipient FOR UPDATE`,
    [recipients],
  );
  const lastSeq = new Map(counters.rows.map((row) => [row.recipient, Number(row.last_seq)]));

  const existing = await client.query<{ recipient: string; event_id: string; seq: string; order_id: string; payload: Record<string, unknown>; delivered: boolean; created_at: Date }>(
    `SELECT n.recipient, n.event_id, n.seq, n.order_id, n.payload, n.delivered_at IS NOT NULL AS delivered, n.created_at
       FROM notifications n
       JOIN unnest($1::text[], $2::uuid[]) AS k(recipient, event_id) ON n.recipient = k.recipient AND n.event_id = k.event_id`,
    [items.map((item) => item.recipient), items.map((item) => item.eventId)],
  );
  const found = new Map(existing.rows.map((row) => [`${row.recipient}\u0000${row.event_id}`, row]));

  const now = new Date();
  const stored: StoredNotification[] = [];
  const fresh: Array<StoredNotification & { input: NotificationInput }> = [];
  for (const item of items) {
    const row = found.get(`${item.recipient}\u0000${item.eventId}`);
    if (row !== undefined) {
      stored.push({ recipient: row.recipient, seq: Number(row.seq), eventId: row.event_id, orderId: row.order_id, payload: row.payload, fresh: false, delivered: row.delivered, createdAt: row.created_at });
      continue;
    }
    const seq = (lastSeq.get(item.recipient) ?? 0) + 1;
    lastSeq.set(item.recipient, seq);
    const entry = { recipient: item.recipient, seq, eventId: item.eventId, orderId: item.orderId, payload: item.payload, fresh: true, delivered: false, createdAt: now, input: item };
    fresh.push(entry);
    stored.push(entry);
  }
  if (fresh.length > 0) {
    await client.query(
      `INSERT INTO notifications (recipient, seq, event_id, order_id, order_version, type, payload, created_at)
       SELECT r, s, e, o, v, t, p, $8 FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::uuid[], $5::int[], $6::text[], $7::jsonb[]) AS x(r, s, e, o, v, t, p)`,
      [
        fresh.map((entry) => entry.recipient),
        fresh.map((entry) => entry.seq),
        fresh.map((entry) => entry.eventId),
        fresh.map((entry) => entry.orderId),
        fresh.map((entry) => entry.input.orderVersion),
        fresh.map((entry) => entry.input.type),
        fresh.map((entry) => JSON.stringify(entry.payload)),
        now,
      ],
    );
    const touched = [...new Set(fresh.map((entry) => entry.recipient))];
    await client.query(
      `UPDATE notification_recipients AS r SET last_seq = v.seq, updated_at = now() FROM unnest($1::text[], $2::bigint[]) AS v(recipient, seq) WHERE r.recipient = v.recipient`,
      [touched, touched.map((recipient) => lastSeq.get(recipient) ?? 0)],
    );
  }
  return stored.map((entry) => ({
    recipient: entry.recipient,
    seq: entry.seq,
    eventId: entry.eventId,
    orderId: entry.orderId,
    payload: entry.payload,
    fresh: entry.fresh,
    delivered: entry.delivered,
    createdAt: entry.createdAt,
  }));
}


/** A recipient's notifications with seq above `afterSeq`, in seq order. */
export async function notificationsAfter(db: Queryable, recipient: string, afterSeq: number, limit: number): Promise<Array<{ seq: number; payload: Record<string, unknown> }>> {
  const result = await db.query<{ seq: string; payload: Record<string, unknown> }>(
    `SELECT seq, payload FROM notifications WHERE recipient = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [recipient, afterSeq, limit],
  );
  return result.rows.map((row) => ({ seq: Number(row.seq), payload: row.payload }));
}

/** The highest seq handed out to a recipient (0 when it never had a notification). */
export async function lastNotificationSeq(db: Queryable, recipient: string): Promise<number> {
  const result = await db.query<{ last_seq: string }>(`SELECT last_seq FROM notification_recipients WHERE recipient = $1`, [recipient]);
  return Number(result.rows[0]?.last_seq ?? 0);
}

/**
 * Marks acknowledged notifications delivered (first ack wins); returns the delivery latency in ms of each row
 * this call marked (delivered_at - created_at).
 */
export async function markNotificationsDelivered(db: Queryable, acks: Array<{ recipient: string; seq: number }>): Promise<number[]> {
  if (acks.length === 0) return [];
  const result = await db.query<{ latency_ms: number }>(
    `UPDATE notifications AS n SET delivered_at = now()
       FROM unnest($1::text[], $2::bigint[]) AS a(recipient, seq)
      WHERE n.recipient = a.recipient AND n.seq = a.seq AND n.delivered_at IS NULL
      RETURNING (extract(epoch FROM (n.delivered_at - n.created_at)) * 1000)::float8 AS latency_ms`,
    [acks.map((ack) => ack.recipient), acks.map((ack) => ack.seq)],
  );
  return result.rows.map((row) => row.latency_ms);
}

/** Whether `recipient` was ever told about the order (the order-room check). */
export async function isNotifiedOfOrder(db: Queryable, recipient: string, orderId: string): Promise<boolean> {
  const result = await db.query(`SELECT 1 FROM notifications WHERE recipient = $1 AND order_id = $2 LIMIT 1`, [recipient, orderId]);
  return (result.rowCount ?? 0) > 0;
}

/**
 * Retention (worker): deletes delivered notifications older than `olderThanDays`, in batches so no long lock is
 * held; undelivered rows are kept for replay. Returns how many rows were deleted. @default 7 days, batch 10000
 */
export async function deleteDeliveredNotifications(pool: Pool | Queryable, olderThanDays = 7, batchSize = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await pool.query(
      `DELETE FROM notifications WHERE ctid IN (
         SELECT ctid FROM notifications WHERE delivered_at IS NOT NULL AND delivered_at < now() - make_interval(days => $1) LIMIT $2)`,
      [olderThanDays, batchSize],
    );
    const deleted = result.rowCount ?? 0;
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/** The ids among `orderIds` that exist in the orders table (the notifier's "unknown order" check). */
export async function existingOrderIds(db: Queryable, orderIds: string[]): Promise<Set<string>> {
  if (orderIds.length === 0) return new Set();
  const result = await db.query<{ id: string }>(`SELECT id FROM orders WHERE id = ANY($1::uuid[])`, [[...new Set(orderIds)]]);
  return new Set(result.rows.map((row) => row.id));
}
