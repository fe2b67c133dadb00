// Each app's own settings, and each app's schema: the shared parts it reads plus its own. An app validates only
// what it reads (the relay knows nothing of webhooks); `Config` is every part at once, for `npm start` and tests.
import { z } from 'zod';
import { commaList, flag, optionalText, port } from './fields';
import { auth, database, kafka, localStack, orderRules, redis, relaySlot, runtime, service, tracing, webhookTargets } from './parts';

const apiSettings = z.object({
  PORT: port.default(3000),
  /** API: Postgres connections in its pool (each request holds one for its two queries). @default 8 */
  API_PG_POOL_MAX: z.coerce.number().int().min(1).max(1_000).default(8),
  /** API: requests per principal (token subject) per API_RATE_LIMIT_WINDOW_MS. @default 1200 */
  API_RATE_LIMIT_PRINCIPAL: z.coerce.number().int().min(1).default(1_200),
  /** API: requests per client IP per window to routes without a token (health, docs, dev tokens, requests without credentials). @default 300 */
  API_RATE_LIMIT_ANONYMOUS: z.coerce.number().int().min(1).default(300),
  /** API: the rate limits' window. @default 60000 */
  API_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1_000).default(60_000),
  /** API: the Redis key prefix of the rate-limit counters (with REDIS_URL; API processes sharing it share the budget). @default settle-api */
  API_REDIS_KEY: z.string().min(1).default('settle-api'),
  /** API: a connection that has not sent a request's headers within this is closed (slowloris). @default 10000 */
  API_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** API: a request not fully received (headers and body) within this is answered 408 and closed. @default 30000 */
  API_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** API: open connections beyond this are refused (closed at accept). @default 4096 */
  API_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(4_096),
  /** The notifier's origin as browsers reach it; the API's CSP lets pages connect there (http and ws). @default http://localhost:3001 */
  NOTIFIER_PUBLIC_URL: z
    .url()
    .default('http://localhost:3001')
    .transform((url) => new URL(url).origin),
  /** API: in production /metrics is served on this port only, never on PORT. @default 9100 */
  ADMIN_PORT: port.default(9100),
  /** API: the address the admin port listens on (a container sets 0.0.0.0 for its scraper). @default 127.0.0.1 */
  ADMIN_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** API: serve /docs and /openapi.json. @default on outside production, off in production */
  API_DOCS: flag.optional(),
});

const workerSettings = z.object({
  WORKER_PORT: port.default(3003),
  /** Worker: pause between timer sweeps. @default 1000 */
  WORKER_INTERVAL_MS: z.coerce.number().int().min(10).default(1_000),
  /** Worker: due orders locked and fired per sweep transaction. @default 200 */
  WORKER_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(200),
  /** Worker: outbox rows, used idempotency keys and delivered notifications are kept this many days. @default 7 */
  RETENTION_DAYS: z.coerce.number().int().min(1).default(7),
  /** Worker: delivered and dead webhook deliveries (with their attempts) are kept this many days after they finished. @default 7 */
  RETENTION_WEBHOOK_DELIVERIES_DAYS: z.coerce.number().int().min(1).default(7),
  /** Worker: emitted order-book events are kept this many days (unemitted ones are kept). @default 7 */
  RETENTION_BOOK_EVENTS_DAYS: z.coerce.number().int().min(1).default(7),
  /** Worker: resolved dead letters (with their audit rows) are kept this many days after their resolution. @default 7 */
  RETENTION_DEAD_LETTERS_DAYS: z.coerce.number().int().min(1).default(7),
});

const relaySettings = z.object({
  RELAY_PORT: port.default(3002),
  /** How often the active WAL relay writes a heartbeat into the WAL so an idle outbox still advances the slot. @default 5000 */
  RELAY_HEARTBEAT_MS: z.coerce.number().int().min(50).default(5_000),
  /** Events read from the WAL (or polled) but not yet acknowledged by Kafka before the relay stops reading. @default 20000 */
  RELAY_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(20_000),
  /** Most events per Kafka produce request. @default 5000 */
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).default(5_000),
  /**
   * How long the first event of a WAL relay produce request waits for more (Kafka's linger.ms) while the outbox is
   * busy (RELAY_LINGER_FROM_RATE); 0 sends as soon as anything is ready. The broker's CPU follows the record
   * batches it appends: at 30 ms the relay makes ~10 % fewer than Debezium polling every 20 ms (at 25 ms about as
   * many) while the median still reaches a consumer ~20 ms sooner (bench:relay, docs/benchmarks.md). The throughput
   * setting is a linger like Debezium's default poll (RELAY_LINGER_MS=500 RELAY_BATCH_BYTES=900000). @default 30
   */
  RELAY_LINGER_MS: z.coerce.number().int().min(0).max(10_000).default(30),
  /**
   * The linger applies only while outbox events arrive at least this fast (events/s, over the last 250 ms); slower,
   * each goes as soon as it is ready, so a release at a quiet hour is not held for the linger. 0 lingers at any
   * rate. @default 1000
   */
  RELAY_LINGER_FROM_RATE: z.coerce.number().int().min(0).default(1_000),
  /**
   * A WAL relay produce request goes out without waiting for the linger once this many bytes are ready (Kafka's
   * batch.size), so a backlog drains in full requests back to back. At most 900000, the most one request carries.
   * @default 65536
   */
  RELAY_BATCH_BYTES: z.coerce.number().int().min(1_024).max(900_000).default(65_536),
  /** The acknowledged WAL position is reported to Postgres at most this often (never ahead of Kafka's acks). @default 20 */
  RELAY_STATUS_INTERVAL_MS: z.coerce.number().int().min(1).max(10_000).default(20),
  /** aggregatetype→topic overrides, `type=topic,…`; `order` defaults to ORDER_EVENTS_TOPIC, others to `settle.<type>.events`. */
  RELAY_TOPIC_ROUTES: optionalText,
  /** Poll mode: pause between empty polls. @default 200 */
  RELAY_POLL_INTERVAL_MS: z.coerce.number().int().min(1).default(200),
  /** A Kafka send not acknowledged within this is abandoned and the relay restarts from the slot. @default 30000 */
  RELAY_SEND_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** How often a standby relay retries the advisory lock. @default 1000 */
  RELAY_STANDBY_POLL_MS: z.coerce.number().int().min(10).default(1_000),
});

const notifierSettings = z.object({
  NOTIFIER_PORT: port.default(3001),
  /** Notifier: first retry delay after a transient failure (DB down, timeout); the partition is paused meanwhile. @default 200 */
  NOTIFIER_RETRY_BASE_MS: z.coerce.number().int().min(1).default(200),
  /** Notifier: each retry waits this many times longer than the one before. @default 2 */
  NOTIFIER_RETRY_FACTOR: z.coerce.number().min(1.25).default(2),
  /** Notifier: the longest wait between retries. @default 30000 */
  NOTIFIER_RETRY_CAP_MS: z.coerce.number().int().min(1).default(30_000),
  /** Notifier: a delay is shortened by up to this fraction at random (jitter), so nodes do not retry in step. @default 0.2 */
  NOTIFIER_RETRY_JITTER: z.coerce.number().min(0).max(0.2).default(0.2),
  /** Notifier: how long a socket has to acknowledge a notification before it stays undelivered (replayed on reconnect). @default 10000 */
  NOTIFIER_ACK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /**
   * Notifier: handled offsets are committed to Kafka at most this often (0: after every chunk). An OffsetCommit is a
   * log append for the broker; at a few events per second each chunk is one event. A crash re-reads at most this
   * much, which writes nothing twice and re-emits only what no client acknowledged. @default 250
   */
  NOTIFIER_COMMIT_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  /** Notifier: rows per page when replaying a reconnecting socket's missed notifications. @default 500 */
  NOTIFIER_REPLAY_PAGE: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Notifier: mirror the dead-letter topic into the dead_letters table for `settle-ops dlq`. @default true */
  NOTIFIER_DLT_MIRROR: flag.default(true),
  /** Notifier: the Redis adapter's channel prefix (nodes sharing it share rooms). @default settle-notifier */
  NOTIFIER_REDIS_KEY: z.string().min(1).default('settle-notifier'),
  /** Notifier: the Kafka consumer group. @default settle-notifier */
  NOTIFIER_GROUP_ID: z.string().min(1).default('settle-notifier'),
  /** Notifier: browser origins allowed to open a socket, comma-separated (clients that send no Origin are not browsers and are let through); the default is the API's, which serves the merchant desk. @default http://localhost:3000,http://127.0.0.1:3000 */
  NOTIFIER_ALLOWED_ORIGINS: commaList(z.url().transform((url) => new URL(url).origin)).default([
    'http://localhost:3000',
    'http://127.0.0.1:3000',
  ]),
  /** Notifier: a connection that has not completed the socket.io handshake within this is closed. @default 10000 */
  NOTIFIER_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Notifier: the largest message a client may send (handshake auth included). @default 65536 */
  NOTIFIER_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1_024).default(65_536),
  /** Notifier: client events (join_order, leave_order) a socket may send per second; a socket sending more is disconnected. Acks are not counted. @default 20 */
  NOTIFIER_SOCKET_EVENTS_PER_SECOND: z.coerce.number().int().min(1).default(20),
  /** Webhooks: attempts before a delivery goes to the dead-letter topic. @default 8 */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(8),
  /** Webhooks: delay before the second attempt; later ones grow by WEBHOOK_RETRY_FACTOR. @default 1000 */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).default(1_000),
  /** @default 4 */
  WEBHOOK_RETRY_FACTOR: z.coerce.number().min(1.25).default(4),
  /** @default 3600000 */
  WEBHOOK_RETRY_CAP_MS: z.coerce.number().int().min(1).default(3_600_000),
  /** Webhooks: an attempt not answered within this is a timeout (retried). @default 5000 */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(10).default(5_000),
  /** Webhooks: how often the dispatcher looks for due deliveries (it is also woken after each batch). @default 500 */
  WEBHOOK_POLL_MS: z.coerce.number().int().min(10).default(500),
});

const opsSettings = z.object({
  /** `settle-ops dlq replay`: a message replayed this many times is parked instead. @default 3 */
  DLQ_MAX_REPLAYS: z.coerce.number().int().min(1).default(3),
});

const api = z.object({
  ...runtime.shape,
  ...service.shape,
  ...tracing.shape,
  ...database.shape,
  ...redis.shape,
  ...auth.shape,
  ...orderRules.shape,
  ...webhookTargets.shape,
  ...apiSettings.shape,
});

const worker = z.object({
  ...runtime.shape,
  ...service.shape,
  ...tracing.shape,
  ...database.shape,
  ...orderRules.shape,
  ...workerSettings.shape,
});

const relay = z.object({
  ...runtime.shape,
  ...service.shape,
  ...database.shape,
  ...kafka.shape,
  ...relaySlot.shape,
  ...relaySettings.shape,
});

const notifier = z.object({
  ...runtime.shape,
  ...service.shape,
  ...tracing.shape,
  ...database.shape,
  ...kafka.shape,
  ...redis.shape,
  ...auth.shape,
  ...webhookTargets.shape,
  ...notifierSettings.shape,
});

/** `settle-ops`: it reaches the local stack when DATABASE_URL / KAFKA_BROKERS are unset, and signs dev tokens. */
const ops = z.object({
  ...runtime.shape,
  ...database.shape,
  ...kafka.shape,
  ...localStack.shape,
  ...auth.shape,
  ...orderRules.shape,
  ...relaySlot.shape,
  ...opsSettings.shape,
  // `settle-ops status` reads the relay's /metrics (on 127.0.0.1) and the notifier group's lag.
  ...relaySettings.pick({ RELAY_PORT: true }).shape,
  ...notifierSettings.pick({ NOTIFIER_GROUP_ID: true }).shape,
});

/** scripts/setup.ts (docker-compose's `migrate`): migrations, the relay's slot and the topics. */
const setup = z.object({
  ...runtime.shape,
  ...database.shape,
  ...kafka.shape,
  ...relaySlot.shape,
});

/** Every part at once: what `npm start` checks before it spawns the apps, and what tests and benches configure. */
export const configSchema = z.object({
  ...runtime.shape,
  ...service.shape,
  ...tracing.shape,
  ...database.shape,
  ...kafka.shape,
  ...localStack.shape,
  ...redis.shape,
  ...auth.shape,
  ...orderRules.shape,
  ...webhookTargets.shape,
  ...relaySlot.shape,
  ...apiSettings.shape,
  ...workerSettings.shape,
  ...relaySettings.shape,
  ...notifierSettings.shape,
  ...opsSettings.shape,
});

/** Each entry point's schema, by the name its one-line errors carry (`settle-<name>: …`). */
export const APP_SCHEMAS = { api, worker, relay, notifier, ops, setup } as const;

export type AppName = keyof typeof APP_SCHEMAS;
export type AppConfig<App extends AppName> = z.infer<(typeof APP_SCHEMAS)[App]>;
export type Config = z.infer<typeof configSchema>;
export type ApiConfig = AppConfig<'api'>;
export type WorkerConfig = AppConfig<'worker'>;
export type RelayConfig = AppConfig<'relay'>;
export type NotifierConfig = AppConfig<'notifier'>;
export type OpsConfig = AppConfig<'ops'>;
export type SetupConfig = AppConfig<'setup'>;

/** Every environment variable the apps read (the full composition's keys). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(configSchema.shape);

/** The variables each entry point reads (its schema's keys). */
export const APP_VARIABLES: Readonly<Record<AppName, readonly string[]>> = {
  api: Object.keys(api.shape),
  worker: Object.keys(worker.shape),
  relay: Object.keys(relay.shape),
  notifier: Object.keys(notifier.shape),
  ops: Object.keys(ops.shape),
  setup: Object.keys(setup.shape),
};
