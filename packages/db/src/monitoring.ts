import type { Queryable } from './pool';

/** The database's monitoring figures for `settle-ops status`; read-only. */
export interface MonitoringFigures {
  /** Dead letters mirrored with a DLT timestamp in the last hour, by channel. */
  deadLettersLastHour: { total: number; byChannel: Record<string, number> };
  /**
   * Notifications first acknowledged in the last hour: from the event's occurredAt (its commit in the write path)
   * to delivered_at, the same span as `settle_notifier_delivery_latency_seconds`.
   */
  deliveryLastHour: { delivered: number; averageSeconds: number | null; p99Seconds: number | null };
  /** Orders with completed_at since midnight UTC. */
  ordersCompletedToday: number;
  /** The relay's slot: null when it does not exist. */
  slot: { name: string; active: boolean; lagBytes: number | null; walStatus: string | null } | null;
  disputes: {
    open: number;
    /** Past their SLA deadline (timer_at). */
    overdue: number;
    oldest: { orderId: string; orderNumber: string; disputedAt: string; ageSeconds: number } | null;
  };
}

const FIGURES_SQL = `
SELECT
  (SELECT COALESCE(jsonb_object_agg(channel, n), '{}'::jsonb) FROM (
     SELECT channel, count(*)::int AS n FROM dead_letters WHERE dlt_timestamp > now() - interval '1 hour' GROUP BY channel) AS c) AS dead_letters,
  (SELECT jsonb_build_object(
            'delivered', count(*)::int,
            'average', avg(latency),
            'p99', percentile_cont(0.99) WITHIN GROUP (ORDER BY latency))
     FROM (SELECT extract(epoch FROM n.delivered_at - COALESCE(p.payload->>'occurredAt', n.created_at::text)::timestamptz)::float8 AS latency
             FROM notifications n LEFT JOIN notification_payloads p ON p.event_id = n.event_id
            WHERE n.delivered_at > now() - interval '1 hour') AS d) AS delivery,
  (SELECT count(*)::int FROM orders WHERE completed_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS completed_today,
  (SELECT jsonb_build_object('active', active, 'lag', pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 'walStatus', wal_status)
     FROM pg_replication_slots WHERE slot_name = $1) AS slot,
  (SELECT jsonb_build_object('open', count(*)::int, 'overdue', (count(*) FILTER (WHERE timer_at <= now()))::int)
     FROM orders WHERE status = 'disputed') AS disputes,
  (SELECT jsonb_build_object('orderId', id, 'orderNumber', order_number, 'disputedAt', disputed_at, 'ageSeconds', extract(epoch FROM now() - disputed_at)::float8)
     FROM orders WHERE status = 'disputed' ORDER BY disputed_at, id LIMIT 1) AS oldest_dispute`;

interface FiguresRow {
  dead_letters: Record<string, number>;
  delivery: { delivered: number; average: number | null; p99: number | null };
  completed_today: number;
  slot: { active: boolean; lag: number | null; walStatus: string | null } | null;
  disputes: { open: number; overdue: number };
  oldest_dispute: { orderId: string; orderNumber: string; disputedAt: string; ageSeconds: number } | null;
}

/** Reads the figures `settle-ops status` shows from the database, in one statement. */
export async function monitoringFigures(db: Queryable, slot: string): Promise<MonitoringFigures> {
  const { rows } = await db.query<FiguresRow>(FIGURES_SQL, [slot]);
  const row = rows[0];
  if (row === undefined) throw new Error('the monitoring query returned no row');
  return {
    deadLettersLastHour: { total: Object.values(row.dead_letters).reduce((sum, n) => sum + n, 0), byChannel: row.dead_letters },
    deliveryLastHour: { delivered: row.delivery.delivered, averageSeconds: row.delivery.average, p99Seconds: row.delivery.p99 },
    ordersCompletedToday: row.completed_today,
    slot: row.slot === null ? null : { name: slot, active: row.slot.active, lagBytes: row.slot.lag, walStatus: row.slot.walStatus },
    disputes: {
      open: row.disputes.open,
      overdue: row.disputes.overdue,
      oldest:
        row.oldest_dispute === null ? null : { ...row.oldest_dispute, disputedAt: new Date(row.oldest_dispute.disputedAt).toISOString() },
    },
  };
}

/** One line of the audit trail: who did what, when. */
export interface AuditEntry {
  at: string;
  /** transition: an order_events row; order_audit: a force action or repair; dead_letter: a replay, park or resolve. */
  source: 'transition' | 'order_audit' | 'dead_letter';
  /** The event type, the audited action, or replay | park | resolve. */
  action: string;
  actorRole: string;
  actorId: string;
  reason: string | null;
  orderId: string | null;
  orderNumber: string | null;
  orderVersion: number | null;
  deadLetterId: number | null;
}

export interface AuditFilter {
  orderId?: string | undefined;
  since?: Date | undefined;
  /** The newest this many entries. @default 200 */
  limit?: number | undefined;
}

const AUDIT_SQL = `
SELECT * FROM (
  SELECT e.occurred_at AS at, 'transition' AS source, e.type AS action, e.actor_role, e.actor_id, NULL::text AS reason,
         e.order_id, o.order_number, e.order_version, NULL::bigint AS dead_letter_id, 0 AS rank
    FROM order_events e JOIN orders o ON o.id = e.order_id
   WHERE ($1::uuid IS NULL OR e.order_id = $1) AND ($2::timestamptz IS NULL OR e.occurred_at >= $2)
  UNION ALL
  SELECT a.at, 'order_audit', a.action, a.actor_role, a.actor_id, a.reason,
         a.order_id, o.order_number, a.order_version, NULL, 1
    FROM order_audit a JOIN orders o ON o.id = a.order_id
   WHERE ($1::uuid IS NULL OR a.order_id = $1) AND ($2::timestamptz IS NULL OR a.at >= $2)
  UNION ALL
  SELECT d.at, 'dead_letter', d.action, 'ops', d.actor, d.reason,
         l.order_id, o.order_number, NULL, d.dead_letter_id, 2
    FROM dead_letter_audit d JOIN dead_letters l ON l.id = d.dead_letter_id LEFT JOIN orders o ON o.id = l.order_id
   WHERE ($1::uuid IS NULL OR l.order_id = $1) AND ($2::timestamptz IS NULL OR d.at >= $2)
) AS trail
ORDER BY at DESC, rank DESC, order_version DESC NULLS LAST
LIMIT $3`;

interface AuditRow {
  at: Date;
  source: AuditEntry['source'];
  action: string;
  actor_role: string;
  actor_id: string;
  reason: string | null;
  order_id: string | null;
  order_number: string | null;
  order_version: number | null;
  dead_letter_id: string | null;
}

/**
 * Who did what, newest last: order transitions (order_events), force actions and repairs (order_audit) and
 * dead-letter replays, parks and resolves (dead_letter_audit), filtered by order and time.
 */
export async function auditTrail(db: Queryable, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  const { rows } = await db.query<AuditRow>(AUDIT_SQL, [filter.orderId ?? null, filter.since ?? null, filter.limit ?? 200]);
  return rows.reverse().map((row) => ({
    at: row.at.toISOString(),
    source: row.source,
    action: row.action,
    actorRole: row.actor_role,
    actorId: row.actor_id,
    reason: row.reason,
    orderId: row.order_id,
    orderNumber: row.order_number,
    orderVersion: row.order_version,
    deadLetterId: row.dead_letter_id === null ? null : Number(row.dead_letter_id),
  }));
}
