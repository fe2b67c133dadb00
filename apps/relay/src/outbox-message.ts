import type { Message } from 'kafkajs';
import { eventHeaders } from '@settle/kafka';
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
 * headers from `eventHeaders` (`id`, CloudEvents binary mode, `orderVersion`, `commitLsn` — null in poll mode,
 * which cannot know it — plus the row's own headers).
 */
export function toOutboundRecord(row: OutboxRow, commitLsn: string | null, route: TopicRouter): OutboundRecord {
  if (
    !nonEmpty(row.id) ||
    !nonEmpty(row.aggregatetype) ||
    !nonEmpty(row.aggregateid) ||
    !nonEmpty(row.type) ||
    typeof row.payload !== 'string'
  ) {
    throw new RelayError('INVALID_ROW', `outbox row ${String(row.id)} lacks id, aggregatetype, aggregateid, type or payload`);
  }
  const headers = eventHeaders({
    id: row.id,
    aggregatetype: row.aggregatetype,
    aggregateid: row.aggregateid,
    type: row.type,
    createdAt: row.created_at,
    orderVersion: row.order_version,
    commitLsn,
    extra: extraHeaders(row),
  });
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
