import { bindSql, namedSql } from './named-sql';
import { named, type Pool, type Queryable } from './pool';

/** One private notification to write: the socket payload without its seq. */
export interface NotificationInput {
  /** `merchant:<id>`, `user:<id>` or `compliance:compliance` (domain recipientKey). */
  recipient: string;
  eventId: string;
  orderId: string;
  orderVersion: number;
  type: string;
  /** The socket payload without its seq: the order event, plus the change's `traceparent` when it had one. */
  payload: Record<string, unknown>;
  /**
   * The order event as JSON (the payload without its traceparent), when the caller holds it already: the Kafka
   * message's value, validated. Stored as it is; without it the payload is serialized.
   */
  json?: Buffer;
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
 * Writes a group of notifications in one statement. The rows come as arrays of scalars, so the planner knows how
 * many there are (for json_to_recordset it assumes 100 and, on a table under ~30k rows, checked 40 rows for
 * existence by scanning the whole table). The payloads, ~1.5 KB of JSON each and the bulk of the bytes, come as one
 * binary `bytea` (node-postgres sends a Buffer parameter in binary format: no escaping on either side) with each
 * event's start and length: as one JSON document Postgres parsed it three times (binding the parameter,
 * json_to_recordset, the column's input) and spilled the record set to a temporary file, ~80 µs of the database's
 * CPU per event; this way each payload is checked once, by the json column's input.
 */
const STORE_NOTIFICATIONS = namedSql<
  | 'recipients'
  | 'eventIds'
  | 'orderIds'
  | 'versions'
  | 'types'
  | 'payloads'
  | 'payloadEvents'
  | 'starts'
  | 'lengths'
  | 'traceparents'
  | 'now'
>(
  'store_notifications',
  `WITH input AS (
     SELECT x.r AS recipient, x.e AS event_id, x.o AS order_id, x.v AS order_version, x.t AS type, x.i AS ord
       FROM unnest(:recipients::text[], :eventIds::uuid[], :orderIds::uuid[], :versions::int[], :types::text[]) WITH ORDINALITY AS x(r, e, o, v, t, i)
   ), fresh AS (
     SELECT * FROM input i
      WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.recipient = i.recipient AND n.event_id = i.event_id)
   ), audience AS (
     SELECT event_id, array_agg(recipient ORDER BY ord) AS recipients FROM input GROUP BY event_id
   ), payloads AS (
     INSERT INTO notification_payloads (event_id, payload, traceparent, recipients, created_at)
     SELECT p.e, convert_from(substring(:payloads::bytea FROM p.start FOR p.length), 'UTF8')::json, p.tp, a.recipients, :now
       FROM unnest(:payloadEvents::uuid[], :starts::int[], :lengths::int[], :traceparents::text[]) AS p(e, start, length, tp)
       JOIN audience a ON a.event_id = p.e
      WHERE EXISTS (SELECT 1 FROM fresh f WHERE f.event_id = p.e)
     ON CONFLICT (event_id) DO NOTHING
   ), counts AS (
     SELECT recipient, count(*)::bigint AS n FROM fresh GROUP BY recipient
   ), bumped AS (
     INSERT INTO notification_recipients AS r (recipient, last_seq)
     SELECT recipient, n FROM counts ORDER BY recipient
     ON CONFLICT (recipient) DO UPDATE SET last_seq = r.last_seq + EXCLUDED.last_seq, updated_at = now()
     RETURNING r.recipient, r.last_seq
   )
   INSERT INTO notifications (recipient, seq, event_id, order_id, order_version, type, created_at)
   SELECT i.recipient, b.last_seq - c.n + row_number() OVER (PARTITION BY i.recipient ORDER BY i.ord), i.event_id, i.order_id, i.order_version, i.type, :now
     FROM fresh i JOIN bumped b ON b.recipient = i.recipient JOIN counts c ON c.recipient = i.recipient
   ON CONFLICT (recipient, event_id) DO NOTHING
   RETURNING recipient, seq, event_id`,
);

const keyOf = (recipient: string, eventId: string): string => `${recipient}\u0000${eventId}`;

/**
 * Writes one row per (recipient, event) inside the caller's transaction, with per-recipient increasing seqs in input
 * order, and each event's payload once (`notification_payloads`). Rows that already exist (a redelivered message)
 * are returned as they are, never written twice. The recipients' counter rows are bumped and the rows inserted in ONE
 * statement, so the counter locks (which serialise notifiers writing to the same recipient) are held only from there
 * to the commit: call it last.
 */
export async function storeNotifications(client: Queryable, inputs: NotificationInput[]): Promise<StoredNotification[]> {
  const unique = new Map<string, NotificationInput>();
  for (const input of inputs) unique.set(keyOf(input.recipient, input.eventId), input);
  const items = [...unique.values()];
  if (items.length === 0) return [];

  // Rows that exist already (a redelivered message) are skipped inside the statement, so the normal case is one
  // round trip; only when fewer rows came back than were asked for are the others read.
  const now = new Date();
  const payloads: Buffer[] = [];
  const payloadEvents: string[] = [];
  const starts: number[] = [];
  const lengths: number[] = [];
  const traceparents: Array<string | null> = [];
  const seen = new Set<string>();
  let start = 1;
  for (const item of items) {
    if (seen.has(item.eventId)) continue;
    seen.add(item.eventId);
    const { traceparent, ...event } = item.payload;
    const json = item.json ?? Buffer.from(JSON.stringify(event));
    payloads.push(json);
    payloadEvents.push(item.eventId);
    starts.push(start);
    lengths.push(json.length);
    traceparents.push(typeof traceparent === 'string' ? traceparent : null);
    start += json.length;
  }
  const inserted = await client.query<{ recipient: string; seq: string; event_id: string }>(
    bindSql(STORE_NOTIFICATIONS, {
      recipients: items.map((item) => item.recipient),
      eventIds: items.map((item) => item.eventId),
      orderIds: items.map((item) => item.orderId),
      versions: items.map((item) => item.orderVersion),
      types: items.map((item) => item.type),
      payloads: Buffer.concat(payloads, start - 1),
      payloadEvents,
      starts,
      lengths,
      traceparents,
      now,
    }),
  );
  const seqs = new Map<string, number>();
  for (const row of inserted.rows) seqs.set(keyOf(row.recipient, row.event_id), Number(row.seq));
  // Redelivered, or written by another notifier meanwhile (a rebalance overlap): read those back as existing.
  const missing = seqs.size < items.length ? items.filter((item) => !seqs.has(keyOf(item.recipient, item.eventId))) : [];
  const existing = missing.length > 0 ? await findNotifications(client, missing) : new Map<string, ExistingRow>();
  return items.flatMap((item): StoredNotification[] => {
    const key = keyOf(item.recipient, item.eventId);
    const seq = seqs.get(key);
    const base = { recipient: item.recipient, eventId: item.eventId, orderId: item.orderId, payload: item.payload };
    if (seq !== undefined) return [{ ...base, seq, fresh: true, delivered: false, createdAt: now }];
    const row = existing.get(key);
    return row === undefined ? [] : [{ ...base, ...row, fresh: false }];
  });
}

type ExistingRow = Pick<StoredNotification, 'seq' | 'delivered' | 'createdAt'>;

/** The stored rows of (recipient, event) pairs; their payload is the caller's (an event's payload never changes). */
async function findNotifications(
  client: Queryable,
  items: Array<Pick<NotificationInput, 'recipient' | 'eventId'>>,
): Promise<Map<string, ExistingRow>> {
  const result = await client.query<{ recipient: string; event_id: string; seq: string; delivered: boolean; created_at: Date }>(
    `SELECT n.recipient, n.event_id, n.seq, n.delivered_at IS NOT NULL AS delivered, n.created_at
       FROM unnest($1::text[], $2::uuid[]) AS k(recipient, event_id)
       JOIN notifications n ON n.recipient = k.recipient AND n.event_id = k.event_id`,
    [items.map((item) => item.recipient), items.map((item) => item.eventId)],
  );
  return new Map(
    result.rows.map((row) => [
      keyOf(row.recipient, row.event_id),
      { seq: Number(row.seq), delivered: row.delivered, createdAt: row.created_at },
    ]),
  );
}

/**
 * A recipient's notifications with seq above `afterSeq`, in seq order, each with the socket payload without its seq:
 * the stored event plus the change's traceparent (a separate column since migration 0006; older rows carry it inside).
 */
export async function notificationsAfter(
  db: Queryable,
  recipient: string,
  afterSeq: number,
  limit: number,
): Promise<Array<{ seq: number; payload: Record<string, unknown> }>> {
  const result = await db.query<{ seq: string; payload: Record<string, unknown>; traceparent: string | null }>(
    `SELECT n.seq, p.payload, p.traceparent
       FROM notifications n JOIN notification_payloads p ON p.event_id = n.event_id
      WHERE n.recipient = $1 AND n.seq > $2 ORDER BY n.seq LIMIT $3`,
    [recipient, afterSeq, limit],
  );
  return result.rows.map((row) => ({
    seq: Number(row.seq),
    payload: row.traceparent === null ? row.payload : { ...row.payload, traceparent: row.traceparent },
  }));
}

/** The highest seq handed out to a recipient (0 when it never had a notification). */
export async function lastNotificationSeq(db: Queryable, recipient: string): Promise<number> {
  const result = await db.query<{ last_seq: string }>(`SELECT last_seq FROM notification_recipients WHERE recipient = $1`, [recipient]);
  return Number(result.rows[0]?.last_seq ?? 0);
}

/**
 * Marks acknowledged notifications delivered (first ack wins) at the ack's time (`at`, epoch ms, default now); returns
 * the delivery latency in ms of each row this call marked: delivered_at - `since` (epoch ms of the event's commit,
 * when the caller knows it), else delivered_at - created_at.
 */
export async function markNotificationsDelivered(
  db: Queryable,
  acks: Array<{ recipient: string; seq: number; at?: number; since?: number | undefined }>,
): Promise<number[]> {
  if (acks.length === 0) return [];
  const now = Date.now();
  // unnest of array parameters, not json_to_recordset: the planner knows how many acks an array holds, and probes
  // the primary key for a few. For json_to_recordset it assumes 100 rows, and on a table of up to ~30k rows
  // (a new deployment, the benches) it then hashed the batch and scanned the whole table for 3 acks: 4–9 ms
  // per flush at 18k rows instead of ~0.3, analyzed or not. Times travel as epoch milliseconds: node-postgres
  // turns each Date into text through a slow formatter.
  const result = await db.query<{ latency_ms: number }>(
    named(
      'mark_delivered',
      `UPDATE notifications AS n SET delivered_at = to_timestamp(a.at / 1000)
         FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[]) AS a(r, s, at, since)
        WHERE n.recipient = a.r AND n.seq = a.s AND n.delivered_at IS NULL
        RETURNING a.at - COALESCE(a.since, extract(epoch FROM n.created_at) * 1000) AS latency_ms`,
      [
        acks.map((ack) => ack.recipient),
        acks.map((ack) => ack.seq),
        acks.map((ack) => ack.at ?? now),
        acks.map((ack) => ack.since ?? null),
      ],
    ),
  );
  return result.rows.map((row) => row.latency_ms);
}

/**
 * Whether `recipient` (`merchant:<id>` or `user:<id>`) is a party of the order, read from the orders table by
 * primary key: the order-room check. Compliance is decided by the caller.
 */
export async function isOrderParty(db: Queryable, recipient: string, orderId: string): Promise<boolean> {
  const [kind, ...rest] = recipient.split(':');
  const id = rest.join(':');
  if (kind !== 'merchant' && kind !== 'user') return false;
  const result = await db.query(
    kind === 'merchant'
      ? `SELECT 1 FROM orders WHERE id = $1 AND (merchant_id = $2 OR buyer_merchant_id = $2)`
      : `SELECT 1 FROM orders WHERE id = $1 AND user_id = $2`,
    [orderId, id],
  );
  return (result.rowCount ?? 0) > 0;
}

/**
 * Retention (worker): deletes delivered notifications older than `olderThanDays`, in batches so no long lock is
 * held, then the payloads no row refers to any more; undelivered rows are kept for replay. Returns how many
 * notification rows were deleted. @default 7 days, batch 10000
 */
export async function deleteDeliveredNotifications(pool: Pool | Queryable, olderThanDays = 7, batchSize = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await pool.query(
      `DELETE FROM notifications WHERE ctid IN (
         SELECT ctid FROM notifications
          WHERE created_at < now() - make_interval(days => $1) AND delivered_at < now() - make_interval(days => $1)
          LIMIT $2)`,
      [olderThanDays, batchSize],
    );
    const deleted = result.rowCount ?? 0;
    total += deleted;
    if (deleted < batchSize) break;
  }
  // Payloads of old events none of whose rows is left (the UNIQUE (recipient, event_id) index finds them).
  for (;;) {
    const result = await pool.query(
      `DELETE FROM notification_payloads WHERE event_id IN (
         SELECT p.event_id FROM notification_payloads p
          WHERE p.created_at < now() - make_interval(days => $1)
            AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.recipient = ANY(p.recipients) AND n.event_id = p.event_id)
          LIMIT $2)`,
      [olderThanDays, batchSize],
    );
    if ((result.rowCount ?? 0) < batchSize) return total;
  }
}

/**
 * What the notifier reads before it writes a group of events. Only this: who is told, and what, comes from the
 * event itself (the order's row may not be visible to this session yet when its event arrives).
 */
export interface EventContext {
  /** The merchants asked about with at least one enabled webhook endpoint (most have none). */
  webhookMerchants: Set<string>;
}

/** Reads a group's EventContext in one round trip. */
export async function eventContext(db: Queryable, merchantIds: string[]): Promise<EventContext> {
  if (merchantIds.length === 0) return { webhookMerchants: new Set() };
  const result = await db.query<{ merchant_id: string }>(
    named('event_context_webhooks', `SELECT DISTINCT merchant_id FROM webhook_endpoints WHERE enabled AND merchant_id = ANY($1::text[])`, [
      [...new Set(merchantIds)],
    ]),
  );
  return { webhookMerchants: new Set(result.rows.map((row) => row.merchant_id)) };
}
