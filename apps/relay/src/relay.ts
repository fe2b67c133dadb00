import type { RelayConfig } from '@settle/config';
import { createPool, type Pool } from '@settle/db';
import { createKafka, kafkaProbe, type KafkaProbe } from '@settle/kafka';
import {
  createLogger,
  createRegistry,
  dependencyReadiness,
  type HealthReport,
  type Logger,
  startOpsServer,
  type OpsServer,
} from '@settle/observability';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { sleep } from './backoff';
import { startBacklogGauge } from './backlog';
import { becomeLeader, type Leadership } from './election';
import { RelayError } from './errors';
import { startWalHousekeeping } from './heartbeat';
import { createRelayMetrics, type LatencySample, type RelayMetrics } from './metrics';
import { createTopicRouter, parseTopicRoutes, type TopicRouter } from './outbox-message';
import { runPollRelay } from './poll-relay';
import { RelayState, type RelayStatus } from './state';
import { runWalRelay } from './wal-relay';

export type { RelayRole, RelayStatus } from './state';

export interface StartRelayOptions {
  /** DATABASE_URL and KAFKA_BROKERS are required; RELAY_* tune the relay. */
  config: RelayConfig;
  /** @default createLogger('relay', config.LOG_LEVEL) */
  logger?: Logger;
  /** Port of /metrics, /health, /ready; 0 picks a free one, null serves none. @default config.RELAY_PORT */
  port?: number | null;
  /** How often an unchanged watermark is reported to Postgres again. @default 1000 */
  statusKeepaliveMs?: number;
  /** How often a missing slot is looked for again. @default 5000 */
  slotRecheckMs?: number;
  /** How often the slot lag and outbox backlog gauges are refreshed. @default 2000 */
  lagIntervalMs?: number;
  /** Receives every event's latency sample, beside the histogram (benchmarks). */
  onCommitToAck?: (sample: LatencySample) => void;
}

export interface Relay {
  /** Port of the ops server, or null when none was started. */
  readonly port: number | null;
  readonly registry: Registry;
  status(): RelayStatus;
  /** Stops gracefully: drains in-flight events (briefly), reports the watermark, releases the lock. */
  stop(): Promise<void>;
}

/** Most bytes of one produce request; below Kafka's default 1 MB record-batch limit with room to spare. */
const BATCH_BYTES = 900_000;

/** What one relay process holds for its whole life. */
interface RelayParts {
  config: RelayConfig & { DATABASE_URL: string; KAFKA_BROKERS: string[] };
  options: StartRelayOptions;
  logger: Logger;
  registry: Registry;
  metrics: RelayMetrics;
  route: TopicRouter;
  pool: Pool;
  kafka: Kafka;
  brokers: KafkaProbe;
  state: RelayState;
}

/**
 * Starts a relay instance: serves /metrics, /health, /ready, competes for the advisory lock, and while active
 * streams the outbox to Kafka (RELAY_MODE=wal) or polls it (RELAY_MODE=poll). Returns at once; a standby keeps
 * waiting for the lock in the background.
 */
export async function startRelay(options: StartRelayOptions): Promise<Relay> {
  const parts = connect(options);
  const server = await serveOps(parts);
  const stopping = new AbortController();
  const loop = leadUntilStopped(parts, stopping.signal);
  let stopped: Promise<void> | undefined;
  return {
    port: server?.port ?? null,
    registry: parts.registry,
    status: () => parts.state.snapshot(),
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await loop;
        parts.state.status.role = 'stopped';
        await server?.close();
        await parts.brokers.close();
        await parts.pool.end();
      })();
      return stopped;
    },
  };
}

/** The pool, the Kafka client, the metrics and the state the relay keeps from start to stop. */
function connect(options: StartRelayOptions): RelayParts {
  const { config } = options;
  if (config.DATABASE_URL === undefined || config.KAFKA_BROKERS === undefined) {
    throw new Error('the relay needs DATABASE_URL and KAFKA_BROKERS');
  }
  const logger = options.logger ?? createLogger('relay', config.LOG_LEVEL);
  const registry = createRegistry('relay');
  const metrics = createRelayMetrics(registry, options.onCommitToAck);
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-relay`,
    // kafkajs logs every attempt it retries itself; what finally fails reaches us as an error and is classified
    // and logged there, so its own lines are warnings at most.
    onLog: (level, message, extra) => logger[level === 'debug' ? 'debug' : 'warn']({ kafka: extra }, message),
  });
  return {
    config: { ...config, DATABASE_URL: config.DATABASE_URL, KAFKA_BROKERS: config.KAFKA_BROKERS },
    options,
    logger,
    registry,
    metrics,
    route: createTopicRouter(config.ORDER_EVENTS_TOPIC, parseTopicRoutes(config.RELAY_TOPIC_ROUTES)),
    pool: createPool(config.DATABASE_URL, { max: 4, applicationName: 'settle-relay' }, (error) =>
      logger.warn({ err: error }, 'idle Postgres client failed'),
    ),
    kafka,
    // Asked on every readiness probe: a stream that has nothing to send would not notice Kafka going away.
    brokers: kafkaProbe(kafka),
    state: new RelayState(config.RELAY_MODE, logger, metrics),
  };
}

/** /metrics, /health (the relay can go on by itself) and /ready (active, streaming, Postgres and Kafka answer). */
async function serveOps({ config, options, registry, pool, brokers, state }: RelayParts): Promise<OpsServer | null> {
  const port = options.port === undefined ? config.RELAY_PORT : options.port;
  if (port === null) return null;
  const dependencies = dependencyReadiness({ database: () => pool.query('SELECT 1'), kafka: () => brokers.check() });
  const health = (): HealthReport => ({ ok: state.healthy(), details: { ...state.status, slot: config.RELAY_SLOT } });
  const ready = async (): Promise<HealthReport> => {
    const report = await dependencies();
    return { ok: report.ok && state.ready(), details: { ...state.status, slot: config.RELAY_SLOT, ...report.details } };
  };
  return startOpsServer({ port, host: config.HOST, registry, health, ready });
}

/** Waits for the advisory lock, relays while holding it, and goes back to waiting when it is lost, until stopped. */
async function leadUntilStopped(parts: RelayParts, stopping: AbortSignal): Promise<void> {
  const { config, logger, metrics, state } = parts;
  try {
    while (!stopping.aborted) {
      const leadership = await becomeLeader(
        { databaseUrl: config.DATABASE_URL, key: config.RELAY_SLOT, pollMs: config.RELAY_STANDBY_POLL_MS, logger },
        stopping,
        () => {
          state.status.role = 'standby';
        },
      );
      if (leadership === null) return;
      state.status.role = 'active';
      metrics.active.set(1);
      logger.info({ mode: config.RELAY_MODE, slot: config.RELAY_SLOT }, 'this relay is active');
      await relayWhileLeader(parts, leadership, AbortSignal.any([stopping, leadership.lost]));
      if (leadership.lost.aborted && !stopping.aborted) {
        state.status.role = 'standby';
        state.fail(
          leadership.lost.reason instanceof RelayError ? leadership.lost.reason : new RelayError('LOCK_LOST', 'lost the advisory lock'),
        );
        await sleep(1_000, stopping);
      }
    }
  } catch (error) {
    // Every expected failure is handled inside the loop; reaching here is a bug, and it must be visible.
    logger.fatal({ err: error }, 'the relay loop crashed');
    state.crashed(error);
  }
}

/** One term as the active relay: the housekeeping and backlog gauges beside the stream (or poll) until `active` ends. */
async function relayWhileLeader(parts: RelayParts, leadership: Leadership, active: AbortSignal): Promise<void> {
  const { config, options, pool, metrics, logger, state } = parts;
  const lagIntervalMs = options.lagIntervalMs ?? 2_000;
  const housekeeping =
    config.RELAY_MODE === 'wal'
      ? startWalHousekeeping({ pool, slot: config.RELAY_SLOT, heartbeatMs: config.RELAY_HEARTBEAT_MS, lagIntervalMs, metrics, logger })
      : null;
  const backlog = startBacklogGauge({ pool, mode: config.RELAY_MODE, intervalMs: lagIntervalMs, metrics, logger });
  try {
    await (config.RELAY_MODE === 'wal' ? streamWal(parts, active) : pollOutbox(parts, active));
  } finally {
    await housekeeping?.stop();
    await backlog.stop();
    state.setStreaming(false);
    metrics.active.set(0);
    await leadership.release();
  }
}

/** RELAY_MODE=wal: the outbox inserts from the replication slot (wal-relay.ts). */
function streamWal({ config, options, pool, kafka, route, logger, metrics, state }: RelayParts, active: AbortSignal): Promise<void> {
  return runWalRelay(
    {
      databaseUrl: config.DATABASE_URL,
      pool,
      slot: config.RELAY_SLOT,
      publication: config.RELAY_PUBLICATION,
      kafka,
      route,
      maxInFlight: config.RELAY_MAX_IN_FLIGHT,
      batchSize: config.RELAY_BATCH_SIZE,
      batchBytes: BATCH_BYTES,
      sendAtBytes: Math.min(config.RELAY_BATCH_BYTES, BATCH_BYTES),
      sendTimeoutMs: config.RELAY_SEND_TIMEOUT_MS,
      lingerMs: config.RELAY_LINGER_MS,
      lingerFromRate: config.RELAY_LINGER_FROM_RATE,
      reportIntervalMs: config.RELAY_STATUS_INTERVAL_MS,
      statusKeepaliveMs: options.statusKeepaliveMs ?? 1_000,
      drainTimeoutMs: 5_000,
      slotRecheckMs: options.slotRecheckMs ?? 5_000,
      logger,
      metrics,
      onStreaming: () => state.setStreaming(true),
      onProgress: (watermark) => state.progressed(watermark),
      onFailure: (error) => {
        state.setStreaming(false);
        state.fail(error);
      },
      onSlotOk: () => state.slotFound(),
    },
    active,
  );
}

/** RELAY_MODE=poll: unpublished outbox rows, polled (poll-relay.ts). */
function pollOutbox({ config, pool, kafka, route, logger, metrics, state }: RelayParts, active: AbortSignal): Promise<void> {
  return runPollRelay(
    {
      pool,
      kafka,
      route,
      batchSize: config.RELAY_BATCH_SIZE,
      pollIntervalMs: config.RELAY_POLL_INTERVAL_MS,
      sendTimeoutMs: config.RELAY_SEND_TIMEOUT_MS,
      logger,
      metrics,
      onPolling: () => state.setStreaming(true),
      onProgress: () => {
        state.setStreaming(true);
        metrics.progressed();
        state.progressed(null);
      },
      onFailure: (error) => {
        state.setStreaming(false);
        state.fail(error);
      },
    },
    active,
  );
}
