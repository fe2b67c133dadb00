// The settings several apps share, one zod object per concern; apps.ts composes them into each app's schema.
import { z } from 'zod';
import { BROKER, commaList, duration, flag, hostOrCidr, optionalText, pairs, port, publicKeyParses } from './fields';

/** Every process: its environment profile and log level. */
export const runtime = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** A long-running app `npm start` spawns: where its ports listen, and whether a supervisor watches it. */
export const service = z.object({
  /**
   * The address the apps' ports listen on (API, notifier, relay and worker ops ports); a container sets 0.0.0.0.
   * @default every interface for the API and the notifier, 127.0.0.1 for the relay's and worker's ops ports
   */
  HOST: optionalText,
  /** Set by `npm start` for the apps it spawns: an app stops when its supervisor is gone. @default false */
  SETTLE_SUPERVISED: flag.default(false),
});

/** Span export (observability's startTracing). */
export const tracing = z.object({
  /**
   * `otlp` records spans with the OpenTelemetry SDK and exports them over OTLP/HTTP (the SDK's own
   * OTEL_EXPORTER_OTLP_* variables set the endpoint, headers and timeout). The traceparent travels either way.
   * @default none
   */
  OTEL_TRACES_EXPORTER: z.enum(['none', 'otlp'], { error: 'OTEL_TRACES_EXPORTER is none (the default) or otlp' }).default('none'),
  /** The service name spans are exported under. @default settle-<app> */
  OTEL_SERVICE_NAME: optionalText,
});

export const database = z.object({
  /** External Postgres; when unset the local stack starts embedded Postgres. */
  DATABASE_URL: optionalText,
});

/** The brokers and the order events topic. */
export const kafka = z.object({
  /** External Kafka (comma-separated host:port); when unset the local stack starts Kafka from jars. */
  KAFKA_BROKERS: commaList(
    z.string().regex(BROKER, 'KAFKA_BROKERS lists host:port pairs separated by commas, e.g. kafka-1:9092,kafka-2:9092'),
  )
    .transform((brokers) => (brokers.length === 0 ? undefined : brokers))
    .optional(),
  KAFKA_CLIENT_ID: z.string().min(1).default('settle'),
  ORDER_EVENTS_TOPIC: z.string().min(1).default('settle.order.events'),
  ORDER_EVENTS_PARTITIONS: z.coerce.number().int().min(1).default(6),
});

/** The stack `npm start` runs (embedded Postgres, Kafka from jars): where it keeps its data and which ports it takes. */
export const localStack = z.object({
  /** Where `npm start` keeps Postgres data, Kafka logs and cached jars. @default <repo>/.settle */
  SETTLE_DATA_DIR: optionalText,
  PG_PORT: port.default(5433),
  /** Embedded Postgres: load pg_stat_statements (with planning times), for finding what a workload costs. @default false */
  PG_STAT_STATEMENTS: flag.default(false),
  KAFKA_PORT: port.default(9092),
  KAFKA_CONTROLLER_PORT: port.default(9093),
});

/** How tokens are verified (and, in development, minted). */
export const auth = z.object({
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
});

const PAYMENT_METHODS = ['bank_transfer', 'upi', 'cash'] as const;
const NETWORKS = ['ethereum', 'bsc', 'polygon', 'tron'] as const;
const feeBps = z.coerce.number().int().min(0).max(10_000);

/** The order rules (validated once here; orderPolicy gives them the domain's shape). */
export const orderRules = z.object({
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

export const redis = z.object({
  /** Redis shared by the API's rate limits and the notifier's socket.io adapter; unset, each process keeps its own. */
  REDIS_URL: optionalText,
});

/** Where a webhook may be delivered: checked when the API registers one and when the notifier sends to it. */
export const webhookTargets = z.object({
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
});

/** The relay's replication slot and publication (set up by scripts/setup.ts, inspected by settle-ops). */
export const relaySlot = z.object({
  RELAY_MODE: z.enum(['wal', 'poll']).default('wal'),
  RELAY_SLOT: z
    .string()
    .regex(/^[a-z0-9_]+$/)
    .default('settle_outbox'),
  RELAY_PUBLICATION: z
    .string()
    .regex(/^[a-z0-9_]+$/)
    .default('settle_outbox_pub'),
});

export type RuntimeConfig = z.infer<typeof runtime>;
export type ServiceConfig = z.infer<typeof service>;
export type DatabaseConfig = z.infer<typeof database>;
export type KafkaConfig = z.infer<typeof kafka>;
export type LocalStackConfig = z.infer<typeof localStack>;
export type AuthConfig = z.infer<typeof auth>;
export type OrderRulesConfig = z.infer<typeof orderRules>;
export type RedisConfig = z.infer<typeof redis>;
export type WebhookTargetsConfig = z.infer<typeof webhookTargets>;
export type RelaySlotConfig = z.infer<typeof relaySlot>;
