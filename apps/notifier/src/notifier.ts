import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Config } from '@settle/config';
import { createPool, type Pool } from '@settle/db';
import { createKafka, deadLetterTopic, ensureTopics, kafkaProbe, orderTopics } from '@settle/kafka';
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
import { Partitioners, type Consumer, type Producer } from 'kafkajs';
import { createClient } from 'redis';
import { runPausingConsumer, type RetryInfo } from './consume';
import { createNotifierMetrics, type NotifierMetrics } from './metrics';
import { createMirrorHandler } from './mirror';
import { createProcessor } from './processor';
import { createSocketHub, type SocketHub } from './sockets';
import { startWebhookDispatcher, type WebhookDispatcher } from './webhooks';

export interface NotifierOptions {
  config: Config;
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
 * Starts the notifier: HTTP server on NOTIFIER_PORT with socket.io (default path) and /metrics, /health, /ready;
 * the `settle-notifier` consumer of the order events topic; the webhook dispatcher; the dead-letter mirror.
 */
export async function startNotifier(options: NotifierOptions): Promise<Notifier> {
  const { config } = options;
  const logger = options.logger ?? createLogger('notifier', config.LOG_LEVEL);
  if (config.DATABASE_URL === undefined) throw new Error('DATABASE_URL is required for the notifier');
  if (config.KAFKA_BROKERS === undefined) throw new Error('KAFKA_BROKERS is required for the notifier');
  const topic = config.ORDER_EVENTS_TOPIC;
  const groupId = config.NOTIFIER_GROUP_ID;
  const tracing = options.tracing ?? (await startTracing(config, 'notifier', logger));

  const pool = createPool(config.DATABASE_URL, { max: 10, applicationName: 'settle-notifier' }, (error) =>
    logger.warn({ err: error }, 'idle database client failed'),
  );
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-notifier`,
    onLog: (level, message, extra) => logger[level](extra, message),
  });
  await ensureTopics(kafka, orderTopics(topic, config.ORDER_EVENTS_PARTITIONS));

  const registry = createRegistry('notifier');
  // The hub needs the metrics and the connected-sockets gauge needs the hub.
  const late: { hub?: SocketHub } = {};
  const metrics = createNotifierMetrics(registry, () => late.hub?.connectedSockets() ?? 0);
  let joined = false;

  // Ready while Postgres and a Kafka broker answer and the consumer has joined its group; each probe asks again.
  const brokers = kafkaProbe(kafka);
  const dependencies = dependencyReadiness({ database: () => pool.query('SELECT 1'), kafka: () => brokers.check() });
  const ready = async (): Promise<HealthReport> => {
    const report = await dependencies();
    return { ok: report.ok && joined, details: { ...report.details, consumer: joined ? 'joined' : 'joining' } };
  };
  const ops = opsRoutes({ registry, ready });
  const server = http.createServer((request, response) => {
    if (ops(request, response)) return;
    // socket.io answers its own path; anything else is not ours.
    const path = request.url?.split('?')[0];
    if (!path?.startsWith('/socket.io')) {
      response.writeHead(404, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no route ${path ?? ''}` }));
    }
  });

  const redis: Array<{ quit(): Promise<unknown> }> = [];
  let adapter: ReturnType<typeof createAdapter> | undefined;
  if (config.REDIS_URL !== undefined) {
    const pub = createClient({ url: config.REDIS_URL });
    const sub = pub.duplicate();
    pub.on('error', (error: unknown) => logger.warn({ err: error }, 'redis publisher error'));
    sub.on('error', (error: unknown) => logger.warn({ err: error }, 'redis subscriber error'));
    await Promise.all([pub.connect(), sub.connect()]);
    redis.push(pub, sub);
    adapter = createAdapter(pub, sub, { key: config.NOTIFIER_REDIS_KEY });
  }
  const backoff = {
    baseMs: config.NOTIFIER_RETRY_BASE_MS,
    factor: config.NOTIFIER_RETRY_FACTOR,
    capMs: config.NOTIFIER_RETRY_CAP_MS,
    jitter: config.NOTIFIER_RETRY_JITTER,
  };
  const socketHub = createSocketHub(server, {
    config,
    pool,
    metrics,
    logger,
    visibility: { backoff },
    ...(adapter !== undefined ? { adapter } : {}),
  });
  late.hub = socketHub;

  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();

  const dispatcher: WebhookDispatcher = startWebhookDispatcher({
    config,
    pool,
    producer,
    topic,
    groupId,
    metrics,
    tracing,
    logger: logger.child({ component: 'webhooks' }),
  });

  // Two members of the group per process: kafkajs fetches again only when every batch of its last fetch is
  // handled, so with one consumer the database and this process take turns; with two, one consumer's batches
  // are written while the other's are emitted. Both feed the same processor (one writer, emits in order).
  const handle = createProcessor({
    pool,
    producer,
    hub: socketHub,
    metrics,
    logger,
    tracing,
    groupId,
    onWebhooksQueued: () => dispatcher.wake(),
  });
  // Both members join at once, and heartbeat every second: a member learns of the other's join (a rebalance)
  // at its next heartbeat, so start-up does not wait out a long interval.
  const consumers: Consumer[] = Array.from({ length: CONSUMERS_PER_PROCESS }, () =>
    kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 250 }),
  );
  const streams: Array<{ stop(): Promise<void> }> = await Promise.all(
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
        commitIntervalMs: config.NOTIFIER_COMMIT_INTERVAL_MS,
        onProgress: ({ partition, lag, handled }) => {
          metrics.consumerLag.set({ partition: String(partition) }, lag);
          if (handled > 0) metrics.lastProgress.setToCurrentTime();
        },
        onRetry: (info) => {
          metrics.retries.inc();
          metrics.retryDelay.observe(info.delayMs / 1000);
          options.onRetry?.(info);
        },
      });
    }),
  );

  let mirror: { stop(): Promise<void> } | undefined;
  if (config.NOTIFIER_DLT_MIRROR) {
    const mirrorConsumer = kafka.consumer({ groupId: `${groupId}-dlt-mirror`, maxWaitTimeInMs: 250 });
    await mirrorConsumer.connect();
    mirror = await runPausingConsumer({
      consumer: mirrorConsumer,
      topic: deadLetterTopic(topic),
      logger: logger.child({ component: 'dlt-mirror' }),
      backoff,
      handle: createMirrorHandler(pool),
      partitionsConsumedConcurrently: 1,
    });
  }

  await new Promise<void>((resolve) =>
    server.listen(options.port ?? config.NOTIFIER_PORT, options.host ?? config.HOST ?? '0.0.0.0', resolve),
  );
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, topic, groupId, redis: config.REDIS_URL !== undefined }, 'notifier listening');

  return {
    port,
    hub: socketHub,
    pool,
    metrics,
    pauseEvents: () => consumers.forEach((consumer) => consumer.pause([{ topic }])),
    resumeEvents: () => consumers.forEach((consumer) => consumer.resume([{ topic }])),
    async stop() {
      await Promise.all(streams.map((stream) => stream.stop()));
      await mirror?.stop();
      await dispatcher.stop();
      await socketHub.close();
      await producer.disconnect();
      await brokers.close();
      await Promise.all(redis.map((client) => client.quit().catch(() => undefined)));
      await pool.end();
      if (options.tracing === undefined) await tracing.shutdown();
    },
  };
}
