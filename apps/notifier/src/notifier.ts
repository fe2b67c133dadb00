import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import type { NotifierConfig } from '@settle/config';
import { createPool, type Pool } from '@settle/db';
import { createKafka, deadLetterTopic, ensureTopics, kafkaProbe, orderTopics, type KafkaProbe } from '@settle/kafka';
import {
  createLogger,
  createRegistry,
  dependencyReadiness,
  opsRoutes,
  startTracing,
  type HealthReport,
  type Logger,
  type Tracing,
} from '@settle/observability';
import { Partitioners, type Consumer, type Kafka, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { BackoffPolicy } from '@settle/backoff';
import { createClient } from 'redis';
import { runPausingConsumer, type RetryInfo } from './consume';
import { createNotifierMetrics, type NotifierMetrics } from './metrics';
import { createMirrorHandler } from './mirror';
import { createProcessor } from './processor';
import { createSocketHub, type SocketHub } from './sockets';
import { startWebhookDispatcher, type WebhookDispatcher } from './webhooks';

export interface NotifierOptions {
  config: NotifierConfig;
  logger?: Logger;
  /** Listen here instead of NOTIFIER_PORT (0 = a free port, for tests). */
  port?: number;
  host?: string;
  /** Observes every transient failure and the backoff chosen for it. */
  onRetry?: (info: RetryInfo) => void;
  /** @default startTracing(config): spans with OTEL_TRACES_EXPORTER=otlp, else ids only */
  tracing?: Tracing;
}

export interface Notifier {
  port: number;
  hub: SocketHub;
  pool: Pool;
  metrics: NotifierMetrics;
  /** Stops fetching order events (the chunk in hand completes); `resumeEvents` fetches on from there. */
  pauseEvents(): void;
  resumeEvents(): void;
  stop(): Promise<void>;
}

/** Consumer group members per notifier process (see where they are started). */
export const CONSUMERS_PER_PROCESS = 2;

/**
 * Messages a member hands to the processor before it waits for them: about one group commit (processor.ts), so
 * the next group is fetched and parsed while one is written and emitted.
 */
const IN_FLIGHT_PER_CONSUMER = 4_000;

/** What the notifier's parts share from start to stop. */
interface NotifierBase {
  config: NotifierConfig;
  logger: Logger;
  tracing: Tracing;
  pool: Pool;
  kafka: Kafka;
  metrics: NotifierMetrics;
  registry: Registry;
  backoff: BackoffPolicy;
}

/**
 * Starts the notifier: HTTP server on NOTIFIER_PORT with socket.io (default path) and /metrics, /health, /ready;
 * the `settle-notifier` consumer of the order events topic; the webhook dispatcher; the dead-letter mirror.
 */
export async function startNotifier(options: NotifierOptions): Promise<Notifier> {
  // Made after what reads them: the connected-sockets gauge reads the hub, /ready the consumers.
  const late: { hub?: SocketHub; events?: OrderEventStreams } = {};
  const base = await connect(options, () => late.hub?.connectedSockets() ?? 0);
  const { config, logger, kafka, pool, metrics } = base;
  const brokers = kafkaProbe(kafka);
  const server = httpServer(base, brokers, () => late.events?.joined() ?? false);
  const redis = await redisAdapter(config, logger);
  const hub = createSocketHub(server, {
    config,
    pool,
    metrics,
    logger,
    visibility: { backoff: base.backoff },
    ...(redis !== undefined ? { adapter: redis.adapter } : {}),
  });
  late.hub = hub;
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const dispatcher = startWebhookDispatcher({
    config,
    pool,
    producer,
    topic: config.ORDER_EVENTS_TOPIC,
    groupId: config.NOTIFIER_GROUP_ID,
    metrics,
    tracing: base.tracing,
    logger: logger.child({ component: 'webhooks' }),
  });
  const streams = await consumeOrderEvents(base, hub, producer, dispatcher, options.onRetry);
  late.events = streams;
  const mirror = config.NOTIFIER_DLT_MIRROR ? await mirrorDeadLetters(base) : undefined;
  const port = await listen(server, options.port ?? config.NOTIFIER_PORT, options.host ?? config.HOST ?? '0.0.0.0');
  logger.info(
    { port, topic: config.ORDER_EVENTS_TOPIC, groupId: config.NOTIFIER_GROUP_ID, redis: redis !== undefined },
    'notifier listening',
  );

  return {
    port,
    hub,
    pool,
    metrics,
    pauseEvents: () => streams.pause(),
    resumeEvents: () => streams.resume(),
    async stop() {
      await streams.stop();
      await mirror?.stop();
      await dispatcher.stop();
      await hub.close();
      await producer.disconnect();
      await brokers.close();
      await redis?.close();
      await pool.end();
      if (options.tracing === undefined) await base.tracing.shutdown();
    },
  };
}

/** The config checks, the tracer, the pool and the Kafka client (with the topics made sure of), the metrics. */
async function connect(options: NotifierOptions, connectedSockets: () => number): Promise<NotifierBase> {
  const { config } = options;
  const logger = options.logger ?? createLogger('notifier', config.LOG_LEVEL);
  if (config.DATABASE_URL === undefined) throw new Error('DATABASE_URL is required for the notifier');
  if (config.KAFKA_BROKERS === undefined) throw new Error('KAFKA_BROKERS is required for the notifier');
  const tracing = options.tracing ?? (await startTracing(config, 'notifier', logger));
  const pool = createPool(config.DATABASE_URL, { max: 10, applicationName: 'settle-notifier' }, (error) =>
    logger.warn({ err: error }, 'idle database client failed'),
  );
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-notifier`,
    onLog: (level, message, extra) => logger[level](extra, message),
  });
  await ensureTopics(kafka, orderTopics(config.ORDER_EVENTS_TOPIC, config.ORDER_EVENTS_PARTITIONS));
  const registry = createRegistry('notifier');
  return {
    config,
    logger,
    tracing,
    pool,
    kafka,
    registry,
    metrics: createNotifierMetrics(registry, connectedSockets),
    backoff: {
      baseMs: config.NOTIFIER_RETRY_BASE_MS,
      factor: config.NOTIFIER_RETRY_FACTOR,
      capMs: config.NOTIFIER_RETRY_CAP_MS,
      jitter: config.NOTIFIER_RETRY_JITTER,
    },
  };
}

/**
 * The HTTP server socket.io attaches to: /metrics, /health and /ready (Postgres and a Kafka broker answer and the
 * consumer has joined its group, asked again on each probe); anything else outside socket.io's path is a 404.
 */
function httpServer({ pool, registry }: NotifierBase, brokers: KafkaProbe, joined: () => boolean): http.Server {
  const dependencies = dependencyReadiness({ database: () => pool.query('SELECT 1'), kafka: () => brokers.check() });
  const ready = async (): Promise<HealthReport> => {
    const report = await dependencies();
    return { ok: report.ok && joined(), details: { ...report.details, consumer: joined() ? 'joined' : 'joining' } };
  };
  const ops = opsRoutes({ registry, ready });
  return http.createServer((request, response) => {
    if (ops(request, response)) return;
    const path = request.url?.split('?')[0];
    if (!path?.startsWith('/socket.io')) {
      response.writeHead(404, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no route ${path ?? ''}` }));
    }
  });
}

/** With REDIS_URL, the socket.io Redis adapter that lets several notifiers share rooms. */
async function redisAdapter(
  config: NotifierConfig,
  logger: Logger,
): Promise<{ adapter: ReturnType<typeof createAdapter>; close(): Promise<void> } | undefined> {
  if (config.REDIS_URL === undefined) return undefined;
  const pub = createClient({ url: config.REDIS_URL });
  const sub = pub.duplicate();
  pub.on('error', (error: unknown) => logger.warn({ err: error }, 'redis publisher error'));
  sub.on('error', (error: unknown) => logger.warn({ err: error }, 'redis subscriber error'));
  await Promise.all([pub.connect(), sub.connect()]);
  return {
    adapter: createAdapter(pub, sub, { key: config.NOTIFIER_REDIS_KEY }),
    close: async () => {
      await Promise.all([pub, sub].map((client) => client.quit().catch(() => undefined)));
    },
  };
}

interface OrderEventStreams {
  joined(): boolean;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/**
 * The group's members in this process, feeding one processor. Two members per process: kafkajs fetches again only
 * when every batch of its last fetch is handled, so with one consumer the database and this process take turns;
 * with two, one consumer's batches are written while the other's are emitted (one writer, emits in order).
 */
async function consumeOrderEvents(
  { config, pool, kafka, metrics, logger, tracing, backoff }: NotifierBase,
  hub: SocketHub,
  producer: Producer,
  dispatcher: WebhookDispatcher,
  onRetry: NotifierOptions['onRetry'],
): Promise<OrderEventStreams> {
  const topic = config.ORDER_EVENTS_TOPIC;
  const groupId = config.NOTIFIER_GROUP_ID;
  const handle = createProcessor({ pool, producer, hub, metrics, logger, tracing, groupId, onWebhooksQueued: () => dispatcher.wake() });
  let joined = false;
  // Both members join at once, and heartbeat every second: a member learns of the other's join (a rebalance)
  // at its next heartbeat, so start-up does not wait out a long interval.
  const consumers: Consumer[] = Array.from({ length: CONSUMERS_PER_PROCESS }, () =>
    kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 250 }),
  );
  const streams = await Promise.all(
    consumers.map(async (consumer, index) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = true;
      });
      await consumer.connect();
      return runPausingConsumer({
        consumer,
        topic,
        logger: logger.child({ component: 'consumer', member: index }),
        backoff,
        handle,
        // Every partition's chunk joins the next group commit (processor.ts), so all of them may be in hand at once.
        partitionsConsumedConcurrently: config.ORDER_EVENTS_PARTITIONS,
        maxInFlightMessages: IN_FLIGHT_PER_CONSUMER,
        commitIntervalMs: config.NOTIFIER_COMMIT_INTERVAL_MS,
        onProgress: ({ partition, lag, handled }) => {
          metrics.consumerLag.set({ partition: String(partition) }, lag);
          if (handled > 0) metrics.lastProgress.setToCurrentTime();
        },
        onRetry: (info) => {
          metrics.retries.inc();
          metrics.retryDelay.observe(info.delayMs / 1000);
          onRetry?.(info);
        },
      });
    }),
  );
  return {
    joined: () => joined,
    pause: () => consumers.forEach((consumer) => consumer.pause([{ topic }])),
    resume: () => consumers.forEach((consumer) => consumer.resume([{ topic }])),
    stop: async () => {
      await Promise.all(streams.map((stream) => stream.stop()));
    },
  };
}

/** NOTIFIER_DLT_MIRROR: the dead-letter topic mirrored into the dead_letters table `settle-ops dlq` reads. */
async function mirrorDeadLetters({ config, pool, kafka, logger, backoff }: NotifierBase): Promise<{ stop(): Promise<void> }> {
  const consumer = kafka.consumer({ groupId: `${config.NOTIFIER_GROUP_ID}-dlt-mirror`, maxWaitTimeInMs: 250 });
  await consumer.connect();
  return runPausingConsumer({
    consumer,
    topic: deadLetterTopic(config.ORDER_EVENTS_TOPIC),
    logger: logger.child({ component: 'dlt-mirror' }),
    backoff,
    handle: createMirrorHandler(pool),
    partitionsConsumedConcurrently: 1,
  });
}

async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return (server.address() as AddressInfo).port;
}
