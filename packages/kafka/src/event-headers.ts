import { cloudEventType, dataSchemaUri, isEventType, isTraceparent } from '@settle/contracts';

/** Headers of a message on an events topic that are not CloudEvents attributes. */
export const EVENT_HEADERS = {
  /** The outbox row id (= eventId). */
  id: 'id',
  orderVersion: 'orderVersion',
  /** The commit LSN of the transaction (WAL relay only). */
  commitLsn: 'commitLsn',
  /**
   * Set on a message re-sent by `settle-ops outbox republish`: the id of its audit row. The event itself (key,
   * value, event id) is the one already published; consumers that keep an inbox drop what they have.
   */
  republished: 'settle-republished',
} as const;

/** What an event message is built from: an outbox row, or an order_events row being re-published. */
export interface EventSource {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  createdAt: Date;
  orderVersion: number | null;
  commitLsn: string | null;
  /** The row's own headers (e.g. orderNumber, actorRole, traceparent); they cannot override the ones set here. */
  extra?: Record<string, string>;
}

const RESERVED = new Set<string>([EVENT_HEADERS.id, 'content-type', EVENT_HEADERS.orderVersion, EVENT_HEADERS.commitLsn]);

/**
 * The headers of an event message: `id`, `content-type`, CloudEvents binary mode (`ce_*`; an order event's
 * `ce_type` is versioned, `settle.order.completed.v1`, and `ce_dataschema` names its published JSON Schema),
 * `ce_traceparent` (distributed-tracing extension) when the row carries a valid `traceparent`, `orderVersion`,
 * `commitLsn` when known, plus the row's own headers.
 */
export function eventHeaders(source: EventSource): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(source.extra ?? {})) {
    if (!RESERVED.has(name) && !name.startsWith('ce_')) headers[name] = value;
  }
  headers[EVENT_HEADERS.id] = source.id;
  headers['content-type'] = 'application/json';
  headers['ce_specversion'] = '1.0';
  headers['ce_id'] = source.id;
  headers['ce_type'] = isEventType(source.type) ? cloudEventType(source.type) : source.type;
  if (isEventType(source.type)) headers['ce_dataschema'] = dataSchemaUri(source.type);
  headers['ce_source'] = `/settle/${source.aggregatetype}s`;
  headers['ce_subject'] = source.aggregateid;
  headers['ce_time'] = source.createdAt.toISOString();
  // CloudEvents distributed-tracing extension: the trace context of the request or job that made the change.
  const traceparent = source.extra?.['traceparent'];
  if (isTraceparent(traceparent)) {
    headers['ce_traceparent'] = traceparent;
    const tracestate = source.extra?.['tracestate'];
    if (tracestate !== undefined && tracestate !== '') headers['ce_tracestate'] = tracestate;
  }
  if (source.orderVersion !== null) headers[EVENT_HEADERS.orderVersion] = String(source.orderVersion);
  if (source.commitLsn !== null) headers[EVENT_HEADERS.commitLsn] = source.commitLsn;
  return headers;
}
