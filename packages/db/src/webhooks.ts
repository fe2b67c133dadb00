import { randomBytes, randomUUID } from 'node:crypto';
import { SettleError } from '@settle/domain';
import type { Queryable } from './pool';
import { checkPublicHost, type AddressAllowList, type Resolver } from './public-address';

export interface WebhookEndpoint {
  id: string;
  merchantId: string;
  url: string;
  eventTypes: string[] | null;
  description: string | null;
  enabled: boolean;
  /** Why deliveries stopped (e.g. the host resolves to a private address); null while enabled. */
  disabledReason: string | null;
  disabledAt: string | null;
  createdAt: string;
}

interface EndpointRow {
  id: string;
  merchant_id: string;
  url: string;
  event_types: string[] | null;
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  created_at: Date;
}

const toEndpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id,
  merchantId: row.merchant_id,
  url: row.url,
  eventTypes: row.event_types,
  description: row.description,
  enabled: row.enabled,
  disabledReason: row.disabled_reason,
  disabledAt: row.disabled_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
});

export interface WebhookUrlPolicy {
  /** Accept http:// anywhere (WEBHOOK_ALLOW_HTTP). @default false */
  allowHttp?: boolean;
  /** Outside production, http://localhost and http://127.0.0.1 are accepted for local receivers. @default false */
  production?: boolean;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Checks an endpoint URL: https, or http only where the policy allows it. Throws INVALID_INPUT. */
export function checkWebhookUrl(url: string, policy: WebhookUrlPolicy = {}): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new SettleError('INVALID_INPUT', `url is not a valid URL: ${url}`, { cause: error });
  }
  if (parsed.username !== '' || parsed.password !== '')
    throw new SettleError('INVALID_INPUT', 'url must not carry credentials; use the signing secret to authenticate deliveries');
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && (policy.allowHttp === true || (policy.production !== true && LOCAL_HOSTS.has(parsed.hostname))))
    return parsed;
  throw new SettleError('INVALID_INPUT', `url must use https (got ${parsed.protocol.replace(':', '')})`);
}

/**
 * Checks a URL a merchant registers: its form (checkWebhookUrl), then that its host resolves only to public
 * addresses (or is allow-listed). Throws INVALID_INPUT with a detail the merchant can act on.
 */
export async function checkWebhookDestination(
  url: string,
  policy: WebhookUrlPolicy & { allow: AddressAllowList },
  resolve?: Resolver,
): Promise<URL> {
  const parsed = checkWebhookUrl(url, policy);
  const check = await checkPublicHost(parsed, policy.allow, resolve);
  if (!check.ok) throw new SettleError('INVALID_INPUT', `url is not allowed: ${check.reason}`);
  return parsed;
}

/** Registers an endpoint for a merchant; returns it with its signing secret (`whsec_…`, shown once). */
export async function registerWebhookEndpoint(
  db: Queryable,
  input: { merchantId: string; url: string; eventTypes?: string[] | undefined; description?: string | undefined },
  policy: WebhookUrlPolicy = {},
): Promise<WebhookEndpoint & { secret: string }> {
  checkWebhookUrl(input.url, policy);
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const result = await db.query<EndpointRow>(
    `INSERT INTO webhook_endpoints (id, merchant_id, url, secret, event_types, description) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, merchant_id, url, event_types, description, enabled, disabled_reason, disabled_at, created_at`,
    [randomUUID(), input.merchantId, input.url, secret, input.eventTypes ?? null, input.description ?? null],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('insert returned no row');
  return { ...toEndpoint(row), secret };
}

/** A merchant's endpoints (without secrets). */
export async function listWebhookEndpoints(db: Queryable, merchantId: string): Promise<WebhookEndpoint[]> {
  const result = await db.query<EndpointRow>(
    `SELECT id, merchant_id, url, event_types, description, enabled, disabled_reason, disabled_at, created_at FROM webhook_endpoints WHERE merchant_id = $1 ORDER BY created_at, id`,
    [merchantId],
  );
  return result.rows.map(toEndpoint);
}

/** Stops deliveries to an endpoint, with a reason its merchant reads in GET /v1/webhooks. */
export async function disableWebhookEndpoint(db: Queryable, endpointId: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, disabled_at = now(), updated_at = now() WHERE id = $1 AND enabled`,
    [endpointId, reason],
  );
}

/** Deletes a merchant's endpoint (and its delivery log); NOT_FOUND when it is not theirs. */
export async function deleteWebhookEndpoint(db: Queryable, merchantId: string, endpointId: string): Promise<void> {
  const result = await db.query(`DELETE FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2`, [endpointId, merchantId]);
  if ((result.rowCount ?? 0) === 0) throw new SettleError('NOT_FOUND', `webhook endpoint ${endpointId} was not found`);
}

export interface WebhookAttemptView {
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

/** Recent deliveries of a merchant's endpoint with their attempts (the merchant's delivery log). */
export async function listWebhookDeliveries(
  db: Queryable,
  merchantId: string,
  endpointId: string,
  limit = 50,
): Promise<
  Array<{
    id: string;
    eventId: string;
    eventType: string;
    status: string;
    attempts: WebhookAttemptView[];
    createdAt: string;
    deliveredAt: string | null;
  }>
> {
  // Another merchant's endpoint is "not found", not an empty log: its existence is not revealed either way.
  const owned = await db.query(`SELECT 1 FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2`, [endpointId, merchantId]);
  if ((owned.rowCount ?? 0) === 0) throw new SettleError('NOT_FOUND', `webhook endpoint ${endpointId} was not found`);
  const result = await db.query<{
    id: string;
    event_id: string;
    event_type: string;
    status: string;
    created_at: Date;
    delivered_at: Date | null;
    attempts: WebhookAttemptView[] | null;
  }>(
    `SELECT d.id, d.event_id, d.event_type, d.status, d.created_at, d.delivered_at,
            (SELECT json_agg(json_build_object('attempt', a.attempt, 'startedAt', a.started_at, 'durationMs', a.duration_ms, 'statusCode', a.status_code, 'error', a.error) ORDER BY a.attempt)
               FROM webhook_attempts a WHERE a.delivery_id = d.id) AS attempts
       FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE e.id = $1 AND e.merchant_id = $2
      ORDER BY d.created_at DESC LIMIT $3`,
    [endpointId, merchantId, limit],
  );
  return result.rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts ?? [],
    createdAt: row.created_at.toISOString(),
    deliveredAt: row.delivered_at?.toISOString() ?? null,
  }));
}

/** The Kafka message a webhook delivery came from; its dead letter is this message with dlt-* headers added. */
export interface WebhookSource {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  value: Buffer;
  /** The message's headers as text (a replay's settle-replay-* among them). @default {} */
  headers?: Record<string, string>;
}

/** A private event for some merchants, with the Kafka message it came from. */
export interface WebhookEventInput {
  /** Its merchants that have an enabled endpoint (EventContext.webhookMerchants). */
  merchantIds: string[];
  eventId: string;
  orderId: string;
  eventType: string;
  payload: Record<string, unknown>;
  source: WebhookSource;
}

/**
 * Inside the notifier's transaction: one pending delivery per (enabled, subscribed) endpoint of each merchant.
 * A redelivered event writes nothing (unique endpoint + event). Returns how many deliveries were created.
 */
export async function enqueueWebhookDeliveries(client: Queryable, events: WebhookEventInput[]): Promise<number> {
  const rows = events.flatMap((event) => event.merchantIds.map((merchantId) => ({ merchantId, event })));
  if (rows.length === 0) return 0;
  const result = await client.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, order_id, event_type, payload, source_topic, source_partition, source_offset, source_timestamp, source_key, source_value, source_headers)
     SELECT gen_random_uuid(), e.id, v.event_id, v.order_id, v.event_type, v.payload, v.topic, v.part, v.off, v.ts, v.key, v.value, v.headers
       FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::jsonb[], $6::text[], $7::int[], $8::bigint[], $9::text[], $10::text[], $11::bytea[], $12::jsonb[])
            AS v(merchant_id, event_id, order_id, event_type, payload, topic, part, off, ts, key, value, headers)
       JOIN webhook_endpoints e ON e.merchant_id = v.merchant_id AND e.enabled AND (e.event_types IS NULL OR v.event_type = ANY(e.event_types))
     ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
    [
      rows.map((row) => row.merchantId),
      rows.map((row) => row.event.eventId),
      rows.map((row) => row.event.orderId),
      rows.map((row) => row.event.eventType),
      rows.map((row) => JSON.stringify(row.event.payload)),
      rows.map((row) => row.event.source.topic),
      rows.map((row) => row.event.source.partition),
      rows.map((row) => row.event.source.offset),
      rows.map((row) => row.event.source.timestamp),
      rows.map((row) => row.event.source.key),
      rows.map((row) => row.event.source.value),
      rows.map((row) => JSON.stringify(row.event.source.headers ?? {})),
    ],
  );
  return result.rowCount ?? 0;
}

/** A due delivery claimed by a dispatcher. */
export interface DueWebhookDelivery {
  id: string;
  endpointId: string;
  url: string;
  secret: string;
  eventId: string;
  eventType: string;
  payload: Record<string, unknown>;
  attempts: number;
  createdAt: Date;
  source: WebhookSource;
}

/** Claims up to `limit` due deliveries for `leaseMs` (other dispatchers skip them meanwhile). */
export async function claimDueWebhookDeliveries(db: Queryable, limit: number, leaseMs: number): Promise<DueWebhookDelivery[]> {
  const result = await db.query<{
    id: string;
    endpoint_id: string;
    url: string;
    secret: string;
    event_id: string;
    event_type: string;
    payload: Record<string, unknown>;
    attempts: number;
    created_at: Date;
    source_topic: string;
    source_partition: number;
    source_offset: string;
    source_timestamp: string;
    source_key: string | null;
    source_value: Buffer;
    source_headers: Record<string, string>;
  }>(
    `WITH due AS (
       SELECT id FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     UPDATE webhook_deliveries d SET locked_until = now() + make_interval(secs => $2::float8 / 1000)
       FROM due, webhook_endpoints e
      WHERE d.id = due.id AND e.id = d.endpoint_id
      RETURNING d.id, d.endpoint_id, e.url, e.secret, d.event_id, d.event_type, d.payload, d.attempts, d.created_at,
                d.source_topic, d.source_partition, d.source_offset, d.source_timestamp, d.source_key, d.source_value, d.source_headers`,
    [limit, leaseMs],
  );
  return result.rows.map((row) => ({
    id: row.id,
    endpointId: row.endpoint_id,
    url: row.url,
    secret: row.secret,
    eventId: row.event_id,
    eventType: row.event_type,
    payload: row.payload,
    attempts: row.attempts,
    createdAt: row.created_at,
    source: {
      topic: row.source_topic,
      partition: row.source_partition,
      offset: row.source_offset,
      timestamp: row.source_timestamp,
      key: row.source_key,
      value: row.source_value,
      headers: row.source_headers,
    },
  }));
}

export type WebhookOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; delayMs: number }
  /** Sent to the dead-letter topic (already produced when this is recorded). */
  | { kind: 'dead' };

/** Records one HTTP attempt (`delivery.attempt` = the attempt number within the current round) and its outcome. */
export async function recordWebhookAttempt(
  db: Queryable,
  delivery: { id: string; attempt: number },
  attempt: { startedAt: Date; durationMs: number; statusCode: number | null; error: string | null },
  outcome: WebhookOutcome,
): Promise<void> {
  await db.query(
    `WITH attempt AS (
       -- Attempt numbers keep counting across replays; deliveries.attempts counts the current round.
       INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
       SELECT $1, COALESCE(max(attempt), 0) + 1, $3, $4, $5, $6 FROM webhook_attempts WHERE delivery_id = $1)
     UPDATE webhook_deliveries SET attempts = $2, last_status_code = $5, last_error = $6, locked_until = NULL,
            status = $7,
            next_attempt_at = CASE WHEN $7 = 'pending' THEN now() + make_interval(secs => $8::float8 / 1000) ELSE next_attempt_at END,
            delivered_at = CASE WHEN $7 = 'delivered' THEN now() ELSE delivered_at END,
            dead_at = CASE WHEN $7 = 'dead' THEN now() ELSE dead_at END
      WHERE id = $1`,
    [
      delivery.id,
      delivery.attempt,
      attempt.startedAt,
      attempt.durationMs,
      attempt.statusCode,
      attempt.error,
      outcome.kind === 'retry' ? 'pending' : outcome.kind,
      outcome.kind === 'retry' ? outcome.delayMs : 0,
    ],
  );
}

/**
 * A replayed webhook dead letter: the dead delivery is sent again from attempt 1, and now stems from the replayed
 * message (`source`), whose headers count the replays. Returns whether one was reset.
 */
export async function resetDeadWebhookDelivery(
  db: Queryable,
  endpointId: string,
  eventId: string,
  source: WebhookSource,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL, dead_at = NULL,
            source_topic = $3, source_partition = $4, source_offset = $5, source_timestamp = $6, source_key = $7, source_value = $8, source_headers = $9
      WHERE endpoint_id = $1 AND event_id = $2 AND status = 'dead'`,
    [
      endpointId,
      eventId,
      source.topic,
      source.partition,
      source.offset,
      source.timestamp,
      source.key,
      source.value,
      JSON.stringify(source.headers ?? {}),
    ],
  );
  return (result.rowCount ?? 0) > 0;
}
