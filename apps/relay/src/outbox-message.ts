import type { Message } from 'kafkajs';
import { RelayError } from './errors';

/** An outbox row as both relays read it: JSON columns as their raw text so payload bytes pass through untouched. */
export interface OutboxRow {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  /** jsonb text, the Kafka value as is. */
  payload: string;
  /** jsonb text of extra headers (`{}` usually). */
  headers: string | null;
  order_version: number | null;
  created_at: Date;
}

/** A Kafka message bound for one topic. */
export interface OutboundRecord {
  topic: string;
  message: Message & { key: string; value: string; headers: Record<string, string> };
}

/** Maps an outbox `aggregatetype` to its topic. */
export type TopicRouter = (aggregatetype: string) => string;

/** Headers the relay sets itself; a row's own `headers` cannot override them. */
const RESERVED = new Set(['id', 'content-type', 'orderVersion', 'commitLsn']);

/**
 * Topic routing: explicit `routes` first (RELAY_TOPIC_ROUTES), then `order` → the order events topic, then
 * `settle.<aggregatetype>.events` (Debezium's outbox router derives the topic from aggregatetype the same way).
 */
export function createTopicRouter(orderTopic: string, routes: Record<string, string> = {}): TopicRouter {
  const table = new Map<string, string>([['order', orderTopic], ...Object.entries(routes)]);
  return (aggregatetype) => table.get(aggregatetype) ?? `settle.${aggregatetype}.events`;
}

/** Parses RELAY_TOPIC_ROUTES: `order=settle.order.events,payout=settle.payout.events`. */
export function parseTopicRoutes(text: string | undefined): Record<string, string> {
  const routes: Record<string, string> = {};
  if (text === undefined) return routes;
  for (const pair of text.split(',')) {
    const [type, topic, ...rest] = pair.split('=').map((part) => part.trim());
    if (type === undefined || type === '' || topic === undefined || topic === '' || rest.length > 0) {
      throw new RangeError(`RELAY_TOPIC_ROUTES: "${pair}" is not aggregatetype=topic`);
    }
    routes[type] = topic;
  }
  return routes;
}

/**
 * The Kafka message for an outbox row: key = aggregateid (per-order ordering by partition), value = payload,
 * headers `id`, CloudEvents binary mode (`ce_*`), `orderVersion`, `commitLsn` (null in poll mode, which cannot
 * know it), plus the row's own headers.
 */
export function toOutboundRecord(row: OutboxRow, commitLsn: string | null, route: TopicRouter): OutboundRecord {
  if (!nonEmpty(row.id) || !nonEmpty(row.aggregatetype) || !nonEmpty(row.aggregateid) || !nonEmpty(row.type) || typeof row.payload !== 'string') {
    throw new RelayError('INVALID_ROW', `outbox row ${String(row.id)} lacks id, aggregatetype, aggregateid, type or payload`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(extraHeaders(row))) {
    if (!RESERVED.has(name) && !name.startsWith('ce_')) headers[name] = value;
  }
  headers['id'] = row.id;
  headers['content-type'] = 'application/json';
  headers['ce_specversion'] = '1.0';
  headers['ce_id'] = row.id;
  headers['ce_type'] = row.type;
  headers['ce_source'] = `/settle/${row.aggregatetype}s`;
  headers['ce_subject'] = row.aggregateid;
  headers['ce_time'] = row.created_at.toISOString();
  if (row.order_version !== null) headers['orderVersion'] = String(row.order_version);
  if (commitLsn !== null) headers['commitLsn'] = commitLsn;
  return { topic: route(row.aggregatetype), message: { key: row.aggregateid, value: row.payload, headers } };
}

function extraHeaders(row: OutboxRow): Record<string, string> {
  if (row.headers === null || row.headers === '{}') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.headers);
  } catch (error) {
    throw new RelayError('INVALID_ROW', `outbox row ${row.id} has headers that are not JSON`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  return Object.fromEntries(
    Object.entries(parsed).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
