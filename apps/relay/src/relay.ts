import type { Config } from '@settle/config';
import { createPool } from '@settle/db';
import { createKafka, kafkaProbe } from '@settle/kafka';
import {
  createLogger,
  createRegistry,
  dependencyReadiness,
  type HealthReport,
  type Logger,
  startOpsServer,
  type OpsServer,
} from '@settle/observability';
import type { Registry } from 'prom-client';
import { sleep } from './backoff';
import { startBacklogGauge } from './backlog';
import { becomeLeader } from './election';
import { RelayError } from './errors';
import { startWalHousekeeping } from './heartbeat';
import { formatLsn, type Lsn } from './lsn';
import { createRelayMetrics, type LatencySample } from './metrics';
import { createTopicRouter, parseTopicRoutes } from './outbox-message';
import { runPollRelay } from './poll-relay';
import { runWalRelay } from './wal-relay';

export interface StartRelayOptions {
  /** DATABASE_URL and KAFKA_BROKERS are required; RELAY_* tune the relay. */
  config: Config;
  /** @default createLogger('relay', config.LOG_LEVEL) */
  logger?: Logger;
  /** Port of /metrics, /health, /ready; 0 picks a free one, null serves none. @default config.RELAY_PORT */
  port?: number | null;
  /** How often the watermark is re-sent to Postgres without news. @default 1000 */
  statusIntervalMs?: number;
  /** How often a missing slot is looked for again. @default 5000 */
  slotRecheckMs?: number;
  /** How often the slot lag and outbox backlog gauges are refreshed. @default 2000 */
  lagIntervalMs?: number;
  /** Receives every event's latency sample, beside the histogram (benchmarks). */
  onCommitToAck?: (sample: LatencySample) => void;
}

export type RelayRole = 'starting' | 'standby' | 'active' | 'stopped';

export interface RelayStatus {
  role: RelayRole;
  mode: 'wal' | 'poll';
  /** Active and streaming (WAL) or polling (poll mode). */
  streaming: boolean;
  /** The last failure not yet cleared by progress. */
  problem: { code: RelayError['code']; message: string; retryable: boolean } | null;
  /** WAL mode: the position last acknowledged to Postgres. */
  watermark: string | null;
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

/**
 * Starts a relay instance: serves /metrics, /health, /ready, competes for the advisory lock, and while active
 * streams the outbox to Kafka (RELAY_MODE=wal) or polls it (RELAY_MODE=poll). Returns at once; a standby keeps
 * waiting for the lock in the background.
 */
export async function startRelay(options: StartRelayOptions): Promise<Relay> {
  const { config } = options;
  if (config.DATABASE_URL === undefined || config.KAFKA_BROKERS === undefined) {
    throw new Error('the relay needs DATABASE_URL and KAFKA_BROKERS');
  }
  const databaseUrl = config.DATABASE_URL;
  const logger = options.logger ?? createLogger('relay', config.LOG_LEVEL);
  const registry = createRegistry('relay');
  const metrics = createRelayMetrics(registry, options.onCommitToAck);
  const route = createTopicRouter(config.ORDER_EVENTS_TOPIC, parseTopicRoutes(config.RELAY_TOPIC_ROUTES));
  const pool = createPool(databaseUrl, { max: 4, applicationName: 'settle-relay' }, (error) =>
    logger.warn({ err: error }, 'idle Postgres client failed'),
  );
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-relay`,
    // kafkajs logs every attempt it retries itself; what finally fails reaches us as an error and is classified
    // and logged there, so its own lines are warnings at most.
    onLog: (level, message, extra) => logger[level === 'debug' ? 'debug' : 'warn']({ kafka: extra }, message),
  });

  const state: RelayStatus = { role: 'starting', mode: config.RELAY_MODE, streaming: false, problem: null, watermark: null };
  let lastLogged = { message: '', at: 0 };
  const fail = (error: RelayError): void => {
    state.problem = { code: error.code, message: error.message, retryable: error.retryable };
    // The same lasting problem (a missing slot) is logged when it starts and then once a minute.
    const now = Date.now();
    if (error.message === lastLogged.message && now - lastLogged.at < 60_000) return;
    lastLogged = { message: error.message, at: now };
    if (error.retryable) logger.warn({ err: error, code: error.code }, 'relay failure; restarting from the slot');
    else logger.error({ err: error, code: error.code }, 'relay cannot proceed until this is fixed');
  };
  const progressed = (watermark: Lsn | null): void => {
    if (watermark !== null) state.watermark = formatLsn(watermark);
    if (state.problem !== null) {
      logger.info({ cleared: state.problem.code }, 'relay recovered');
      state.problem = null;
    }
  };
  const setStreaming = (streaming: boolean): void => {
    state.streaming = streaming;
    metrics.streaming.set(streaming ? 1 : 0);
  };

  const health = (): HealthReport => ({
    ok: state.problem === null || state.problem.retryable,
    details: { ...state, slot: config.RELAY_SLOT },
  });
  // Asked on every probe: a stream that has nothing to send would not notice Postgres or Kafka going away.
  const brokers = kafkaProbe(kafka);
  const dependencies = dependencyReadiness({ database: () => pool.query('SELECT 1'), kafka: () => brokers.check() });
  const ready = async (): Promise<HealthReport> => {
    const report = await dependencies();
    return {
      ok: report.ok && state.role === 'active' && state.streaming && (state.problem === null || state.problem.retryable),
      details: { ...state, slot: config.RELAY_SLOT, ...report.details },
    };
  };
  const port = options.port === undefined ? config.RELAY_PORT : options.port;
  let server: OpsServer | null = null;
  if (port !== null) server = await startOpsServer({ port, host: config.HOST, registry, health, ready });

  const stopping = new AbortController();
  let stopped: Promise<void> | undefined;
  const loop = (async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      const leadership = await becomeLeader(
        { databaseUrl, key: config.RELAY_SLOT, pollMs: config.RELAY_STANDBY_POLL_MS, logger },
        stopping.signal,
        () => {
          state.role = 'standby';
        },
      );
      if (leadership === null) break;
      state.role = 'active';
      metrics.active.set(1);
      logger.info({ mode: config.RELAY_MODE, slot: config.RELAY_SLOT }, 'this relay is active');
      const active = AbortSignal.any([stopping.signal, leadership.lost]);
      const housekeeping =
        config.RELAY_MODE === 'wal'
          ? startWalHousekeeping({
              pool,
              slot: config.RELAY_SLOT,
              heartbeatMs: config.RELAY_HEARTBEAT_MS,
              lagIntervalMs: options.lagIntervalMs ?? 2_000,
              metrics,
              logger,
            })
          : null;
      const backlog = startBacklogGauge({ pool, mode: config.RELAY_MODE, intervalMs: options.lagIntervalMs ?? 2_000, metrics, logger });
      try {
        if (config.RELAY_MODE === 'wal') {
          await runWalRelay(
            {
              databaseUrl,
              pool,
              slot: config.RELAY_SLOT,
              publication: config.RELAY_PUBLICATION,
              kafka,
              route,
              maxInFlight: config.RELAY_MAX_IN_FLIGHT,
              batchSize: config.RELAY_BATCH_SIZE,
              batchBytes: BATCH_BYTES,
              sendTimeoutMs: config.RELAY_SEND_TIMEOUT_MS,
              statusIntervalMs: options.statusIntervalMs ?? 1_000,
              drainTimeoutMs: 5_000,
              slotRecheckMs: options.slotRecheckMs ?? 5_000,
              logger,
              metrics,
              onStreaming: () => setStreaming(true),
              onProgress: (watermark) => progressed(watermark),
              onFailure: (error) => {
                setStreaming(false);
                fail(error);
              },
              onSlotOk: () => {
                if (state.problem?.code === 'SLOT_MISSING' || state.problem?.code === 'SLOT_NOT_SET_UP') progressed(null);
              },
            },
            active,
          );
        } else {
          await runPollRelay(
            {
              pool,
              kafka,
              route,
              batchSize: config.RELAY_BATCH_SIZE,
              pollIntervalMs: config.RELAY_POLL_INTERVAL_MS,
              sendTimeoutMs: config.RELAY_SEND_TIMEOUT_MS,
              logger,
              metrics,
              onPolling: () => setStreaming(true),
              onProgress: () => {
                setStreaming(true);
                metrics.progressed();
                progressed(null);
              },
              onFailure: (error) => {
                setStreaming(false);
                fail(error);
              },
            },
            active,
          );
        }
      } finally {
        await housekeeping?.stop();
        await backlog.stop();
        setStreaming(false);
        metrics.active.set(0);
        await leadership.release();
      }
      if (leadership.lost.aborted && !stopping.signal.aborted) {
        state.role = 'standby';
        fail(leadership.lost.reason instanceof RelayError ? leadership.lost.reason : new RelayError('LOCK_LOST', 'lost the advisory lock'));
        await sleep(1_000, stopping.signal);
      }
    }
  })().catch((error: unknown) => {
    // Every expected failure is handled inside the loop; reaching here is a bug, and it must be visible.
    logger.fatal({ err: error }, 'the relay loop crashed');
    fail(new RelayError('REPLICATION_FAILED', 'the relay loop crashed', { cause: error }));
    state.problem = { code: 'REPLICATION_FAILED', message: `the relay loop crashed: ${String(error)}`, retryable: false };
  });

  return {
    port: server?.port ?? null,
    registry,
    status: () => ({ ...state, problem: state.problem === null ? null : { ...state.problem } }),
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await loop;
        state.role = 'stopped';
        await server?.close();
        await brokers.close();
        await pool.end();
      })();
      return stopped;
    },
  };
}
