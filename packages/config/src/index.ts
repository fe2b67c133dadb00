import { createPublicKey } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Absolute path of the repository root (two levels above packages/config/src). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const port = z.coerce.number().int().min(1).max(65_535);
const flag = z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off']).transform((value) => ['1', 'true', 'yes', 'on'].includes(value));
const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** A duration such as `90s`, `15m`, `4h` or `500ms`, in minutes (fractions allowed). */
const duration = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, `${what} must be a duration such as 90s, 15m or 4h`)
    .transform((value) => {
      const [, amount = '0', unit = 'm'] = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value) ?? [];
      const perMinute = { ms: 60_000, s: 60, m: 1, h: 1 / 60 }[unit as 'ms' | 's' | 'm' | 'h'];
      return Number(amount) / perMinute;
    })
    .refine((minutes) => minutes > 0, `${what} must be longer than zero`);

/** A comma-separated list: entries trimmed, empty ones dropped, each parsed by `entry`. */
const commaList = <T extends z.ZodType<unknown, string>>(entry: T) =>
  z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    )
    .pipe(z.array(entry));

/** `host:port` (a name, an IPv4 address or a bracketed IPv6 address). */
const BROKER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/** `key=value,…` pairs, each value parsed by `value`. */
const pairs = <T extends z.ZodType>(what: string, key: z.ZodType<string>, value: T) =>
  z
    .string()
    .trim()
    .transform((text, context) => {
      const entries: Array<[string, z.infer<T>]> = [];
      for (const part of text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')) {
        const [name = '', raw = ''] = part.split('=').map((item) => item.trim());
        const parsedKey = key.safeParse(name);
        const parsedValue = value.safeParse(raw);
        if (!part.includes('=') || !parsedKey.success || !parsedValue.success) {
          context.addIssue({ code: 'custom', message: `${what}: "${part}" is not key=value with a valid key and value` });
          return z.NEVER;
        }
        entries.push([parsedKey.data, parsedValue.data]);
      }
      return Object.fromEntries(entries);
    });

function publicKeyParses(pem: string): boolean {
  try {
    return createPublicKey(pem).type === 'public';
  } catch {
    return false;
  }
}

function hostOrCidr(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const family = net.isIP(address);
  if (prefix === undefined) return family !== 0 || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry);
  const bits = Number(prefix);
  return family !== 0 && extra === undefined && /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

const PAYMENT_METHODS = ['bank_transfer', 'upi', 'cash'] as const;
const NETWORKS = ['ethereum', 'bsc', 'polygon', 'tron'] as const;
const feeBps = z.coerce.number().int().min(0).max(10_000);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * `otlp` records spans with the OpenTelemetry SDK and exports them over OTLP/HTTP (the SDK's own
   * OTEL_EXPORTER_OTLP_* variables set the endpoint, headers and timeout). The traceparent travels either way.
   * @default none
   */
  OTEL_TRACES_EXPORTER: z.enum(['none', 'otlp'], { error: 'OTEL_TRACES_EXPORTER is none (the default) or otlp' }).default('none'),
  /** The service name spans are exported under. @default settle-<app> */
  OTEL_SERVICE_NAME: optionalText,
  /** External Postgres; when unset the local stack starts embedded Postgres. */
  DATABASE_URL: optionalText,
  /** External Kafka (comma-separated host:port); when unset the local stack starts Kafka from jars. */
  KAFKA_BROKERS: commaList(
    z.string().regex(BROKER, 'KAFKA_BROKERS lists host:port pairs separated by commas, e.g. kafka-1:9092,kafka-2:9092'),
  )
    .transform((brokers) => (brokers.length === 0 ? undefined : brokers))
    .optional(),
  /** Where `npm start` keeps Postgres data, Kafka logs and cached jars. @default <repo>/.settle */
  SETTLE_DATA_DIR: optionalText,
  PG_PORT: port.default(5433),
  /** Embedded Postgres: load pg_stat_statements (with planning times), for finding what a workload costs. @default false */
  PG_STAT_STATEMENTS: flag.default(false),
  KAFKA_PORT: port.default(9092),
  KAFKA_CONTROLLER_PORT: port.default(9093),
  /**
   * The address the apps' ports listen on (API, notifier, relay and worker ops ports); a container sets 0.0.0.0.
   * @default every interface for the API and the notifier, 127.0.0.1 for the relay's and worker's ops ports
   */
  HOST: optionalText,
  PORT: port.default(3000),
  NOTIFIER_PORT: port.default(3001),
  RELAY_PORT: port.default(3002),
  WORKER_PORT: port.default(3003),
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
  ORDER_EVENTS_TOPIC: z.string().min(1).default('settle.order.events'),
  ORDER_EVENTS_PARTITIONS: z.coerce.number().int().min(1).default(6),
  KAFKA_CLIENT_ID: z.string().min(1).default('settle'),
  /** HS256 secret (development; in production at least 32 bytes and not a placeholder). */
  JWT_SECRET: optionalText,
  /** Verify RS256, ES256 or EdDSA tokens with the keys of this JWKS (takes precedence over JWT_PUBLIC_KEY and JWT_SECRET). */
  JWKS_URL: optionalText.pipe(z.url().optional()),
  /** Verify RS256, ES256 or EdDSA tokens with this public key (SPKI PEM; `\n` escapes allowed); takes precedence over JWT_SECRET. */
  JWT_PUBLIC_KEY: optionalText
    .transform((text) => text?.replaceAll('\\n', '\n'))
    .refine((pem) => pem === undefined || publicKeyParses(pem), 'JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)'),
  /** Tokens must carry this issuer (`iss`) when set. */
  JWT_ISSUER: optionalText,
  /** Tokens must name this audience (`aud`) when set. */
  JWT_AUDIENCE: optionalText,
  /** Mount POST /v1/dev/tokens (tokens for anyone); refused in production. @default false */
  DEV_AUTH: flag.default(false),
  /** API: in production /metrics is served on this port only, never on PORT. @default 9100 */
  ADMIN_PORT: port.default(9100),
  /** API: the address the admin port listens on (a container sets 0.0.0.0 for its scraper). @default 127.0.0.1 */
  ADMIN_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** API: serve /docs and /openapi.json. @default on outside production, off in production */
  API_DOCS: flag.optional(),
  RELAY_MODE: z.enum(['wal', 'poll']).default('wal'),
  RELAY_SLOT: z
    .string()
    .regex(/^[a-z0-9_]+$/)
    .default('settle_outbox'),
  RELAY_PUBLICATION: z
    .string()
    .regex(/^[a-z0-9_]+$/)
    .default('settle_outbox_pub'),
  /** How often the active WAL relay writes a heartbeat into the WAL so an idle outbox still advances the slot. @default 5000 */
  RELAY_HEARTBEAT_MS: z.coerce.number().int().min(50).default(5_000),
  /** Events read from the WAL (or polled) but not yet acknowledged by Kafka before the relay stops reading. @default 20000 */
  RELAY_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(20_000),
  /** Most events per Kafka produce request. @default 5000 */
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).default(5_000),
  /**
   * How long the WAL relay lets events gather before a produce request that is not full is sent, and reads the
   * replication socket at most this often while events keep arriving. 0 sends as soon as anything is ready. The
   * latency setting is the default; a linger like Debezium's poll interval (500) is the throughput setting. @default 5
   */
  RELAY_LINGER_MS: z.coerce.number().int().min(0).max(10_000).default(5),
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
  /** Set by `npm start` for the apps it spawns: an app stops when its supervisor is gone. @default false */
  SETTLE_SUPERVISED: flag.default(false),
  REDIS_URL: optionalText,
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
  /** Webhooks: accept http:// endpoints on any host (otherwise only https, or http on localhost outside production). @default false */
  WEBHOOK_ALLOW_HTTP: flag.default(false),
  /**
   * Webhooks: destinations a webhook URL may resolve to although they are not public addresses, comma-separated host
   * names, IPs or CIDRs (`localhost,127.0.0.1,10.1.0.0/16`), for local receivers in development and tests. @default none
   */
  WEBHOOK_ALLOWED_HOSTS: commaList(
    z
      .string()
      .transform((entry) => entry.toLowerCase())
      .refine(hostOrCidr, 'WEBHOOK_ALLOWED_HOSTS holds host names, IP addresses or CIDRs such as 10.1.0.0/16'),
  ).default([]),
  /** `settle-ops dlq replay`: a message replayed this many times is parked instead. @default 3 */
  DLQ_MAX_REPLAYS: z.coerce.number().int().min(1).default(3),
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
  // ---- order rules (validated once here; see orderPolicy) -------------------------------------------------
  /** The network of an order whose client names none. @default tron */
  DEFAULT_NETWORK: z.enum(NETWORKS).default('tron'),
  /** Crypto currencies an order may trade, comma-separated. @default USDT,USDC */
  CRYPTO_CURRENCIES: commaList(z.string().regex(/^[A-Z][A-Z0-9]{1,9}$/, 'CRYPTO_CURRENCIES holds upper-case codes such as USDT'))
    .refine((codes) => codes.length > 0, 'CRYPTO_CURRENCIES names at least one currency')
    .default(['USDT', 'USDC']),
  /** The platform fee on every order, in basis points, unless MERCHANT_FEE_BPS names the order's merchant. @default 0 */
  PLATFORM_FEE_BPS: feeBps.default(0),
  /** Per-merchant fees in basis points, `merchant-id=bps,…` (e.g. `merchant-alpha=25`). @default none */
  MERCHANT_FEE_BPS: pairs('MERCHANT_FEE_BPS', z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/), feeBps).default({}),
  /** An open order expires this long after creation. @default 15m */
  TIMER_OPEN: duration('TIMER_OPEN').default(15),
  /** An accepted order with no escrow expires this long after accept. @default 2h */
  TIMER_ACCEPTED: duration('TIMER_ACCEPTED').default(120),
  /** Payment window after escrow per method, `method=duration,…`; also one extension's length. @default cash=60m,upi=60m,bank_transfer=4h */
  TIMER_PAYMENT_WINDOW: pairs('TIMER_PAYMENT_WINDOW', z.enum(PAYMENT_METHODS), duration('a payment window')).default({}),
  /** The seller has this long to confirm after the buyer marked paid. @default 2h */
  TIMER_CONFIRM: duration('TIMER_CONFIRM').default(120),
  /** Compliance should resolve a dispute within this (its deadline on the order; alert only). @default 24h */
  TIMER_DISPUTE_SLA: duration('TIMER_DISPUTE_SLA').default(1440),
  /** Payment-window extensions an order may get. @default 3 */
  MAX_EXTENSIONS: z.coerce.number().int().min(0).max(3).default(3),
});

export type Config = z.infer<typeof envSchema>;

/** Every environment variable the apps read (the config schema's keys). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * The order rules of the configuration in the shape of the domain's OrderPolicy (checked where it is passed):
 * timers, default network, tradable crypto currencies and fees.
 */
export function orderPolicy(config: Config) {
  const window = config.TIMER_PAYMENT_WINDOW;
  return {
    timers: {
      openMinutes: config.TIMER_OPEN,
      acceptedMinutes: config.TIMER_ACCEPTED,
      paymentWindowMinutes: { cash: window['cash'] ?? 60, upi: window['upi'] ?? 60, bank_transfer: window['bank_transfer'] ?? 240 },
      confirmMinutes: config.TIMER_CONFIRM,
      disputeSlaMinutes: config.TIMER_DISPUTE_SLA,
      maxExtensions: config.MAX_EXTENSIONS,
    },
    defaultNetwork: config.DEFAULT_NETWORK,
    cryptoCurrencies: config.CRYPTO_CURRENCIES,
    feeBps: (merchantId: string | null): number =>
      (merchantId === null ? undefined : config.MERCHANT_FEE_BPS[merchantId]) ?? config.PLATFORM_FEE_BPS,
  };
}

/**
 * Node flags an app runs with, wherever it is started (npm start, Docker, benches, tests that spawn it).
 *
 * The API allocates many short-lived objects per request, and every mark-compact stalls the requests in
 * flight for 5-20 ms (bench/api's half-load p99):
 * - with V8's default 16 MB semi-space, at several hundred requests/s many objects live through two
 *   scavenges and get promoted, and a mark-compact follows every few seconds. A 64 MB young generation keeps
 *   them young;
 * - but V8 starts incremental marking as soon as the old generation's headroom is smaller than the young
 *   generation (a scavenge could promote all of it). Old space's first limit is sized for a small heap, so
 *   with 64 MB semi-spaces a mark-compact ran every ~1.3 s (--trace-incremental-marking: "Start (task)" at
 *   29 of 95 MB). A 256 MB initial old space gives the headroom: no mark-compact in a 6 s half-load phase.
 */
export const APP_NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  api: ['--max-semi-space-size=64', '--initial-old-space-size=256'],
};

/** Thrown when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; call at process start and pass the result down. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Secrets that are examples, not secrets (compared in lower case, as a part of the value). */
const PLACEHOLDER_SECRETS = [
  'change-me',
  'changeme',
  'change_me',
  'replace-me',
  'replaceme',
  'placeholder',
  'your-secret',
  'example',
  'secret',
  'password',
];

/**
 * What keeps `config` from running in production (NODE_ENV=production), one sentence each; empty outside production.
 * Dev auth hands out tokens for anyone, and a short or well-known HS256 secret lets anyone sign them.
 */
export function productionProblems(config: Config): string[] {
  if (config.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  if (config.DEV_AUTH) problems.push('DEV_AUTH is on (it lets anyone mint tokens); unset it');
  const asymmetric = config.JWKS_URL !== undefined || config.JWT_PUBLIC_KEY !== undefined;
  if (config.JWKS_URL !== undefined && !config.JWKS_URL.startsWith('https:')) problems.push('JWKS_URL must be an https URL');
  if (!asymmetric) {
    const secret = config.JWT_SECRET;
    if (secret === undefined) problems.push('no token verification key: set JWKS_URL, JWT_PUBLIC_KEY or JWT_SECRET');
    else if (Buffer.byteLength(secret, 'utf8') < 32) problems.push('JWT_SECRET is shorter than 32 bytes');
    else if (PLACEHOLDER_SECRETS.some((word) => secret.toLowerCase().includes(word)) || new Set(secret).size < 8) {
      problems.push('JWT_SECRET is a placeholder; generate one (openssl rand -base64 48)');
    }
  }
  return problems;
}

/** Throws a ConfigError naming every productionProblems of `config`; returns it otherwise. */
export function checkProductionProfile(config: Config): Config {
  const problems = productionProblems(config);
  if (problems.length > 0) throw new ConfigError(`refusing to start in production: ${problems.join('; ')}`);
  return config;
}

/**
 * loadConfig for an app's entry point: a bad environment, or one checkProductionProfile refuses, prints one line
 * to stderr (`<app>: …`, no stack trace) and exits with code 1.
 */
export function loadAppConfig(app: string, env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return checkProductionProfile(loadConfig(env));
  } catch (error) {
    process.stderr.write(`${app}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

/** The superuser of the embedded Postgres `npm start` runs (and its password). */
export const LOCAL_PG_USER = 'postgres';
export const LOCAL_PG_PASSWORD = 'settle';

/**
 * Where a local `npm start` stack answers, for tools run beside it (`settle-ops`): DATABASE_URL and KAFKA_BROKERS
 * when set, otherwise the embedded defaults on PG_PORT / KAFKA_PORT; the dev JWT secret `npm start` keeps in
 * SETTLE_DATA_DIR/jwt-secret when JWT_SECRET is not set.
 */
export function localStack(config: Config): { databaseUrl: string; kafkaBrokers: string[]; jwtSecretFile: string } {
  return {
    databaseUrl: config.DATABASE_URL ?? `postgres://${LOCAL_PG_USER}:${LOCAL_PG_PASSWORD}@127.0.0.1:${config.PG_PORT}/settle`,
    kafkaBrokers: config.KAFKA_BROKERS ?? [`127.0.0.1:${config.KAFKA_PORT}`],
    jwtSecretFile: path.join(dataDir(config), 'jwt-secret'),
  };
}

/** The directory `npm start` keeps state in. @default <repo>/.settle */
export function dataDir(config: Config): string {
  return path.resolve(config.SETTLE_DATA_DIR ?? path.join(repoRoot, '.settle'));
}
