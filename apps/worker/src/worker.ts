import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { findStuckOrders, type Pool } from '@settle/db';
import { DEFAULT_POLICY, STUCK_KINDS, type OrderPolicy } from '@settle/domain';
import type { Logger, Tracing } from '@settle/observability';
import { applyRetention, RETENTION_TABLES, type RetentionPolicy, type RetentionResult } from './retention';
import { overdueDisputes, sweepTimers } from './timers';

export interface WorkerOptions {
  pool: Pool;
  logger: Logger;
  registry: Registry;
  intervalMs: number;
  batchSize: number;
  /** Timers (per payment method) and the other order rules the timer transitions run under. @default DEFAULT_POLICY */
  policy?: OrderPolicy;
  retention: RetentionPolicy;
  /** How often retention runs. @default 10 minutes */
  retentionEveryMs?: number;
  /** How often the reconciler looks for stuck orders (reported, repaired by `settle-ops repair`). @default 1 minute */
  reconcileEveryMs?: number;
  /** Spans of timer transitions (OTEL_TRACES_EXPORTER=otlp), or ids only. @default idOnlyTracing */
  tracing?: Tracing;
}

export interface RunningWorker {
  /** Resolves when the loop has stopped (after the current sweep). */
  stop(): Promise<void>;
  lastSweepAt(): number;
}

/** The worker loop: timer sweeps every `intervalMs` (draining a backlog without waiting), retention periodically. */
export function startWorker(options: WorkerOptions): RunningWorker {
  const { pool, logger, registry } = options;
  const fired = new Counter({
    name: 'settle_worker_timers_fired_total',
    help: 'Timer transitions fired, by action',
    labelNames: ['action'],
    registers: [registry],
  });
  const lost = new Counter({
    name: 'settle_worker_timers_lost_total',
    help: 'Due timers that lost to a concurrent change (409)',
    registers: [registry],
  });
  const sweepSeconds = new Histogram({
    name: 'settle_worker_sweep_duration_seconds',
    help: 'Timer sweep duration',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const overdue = new Gauge({
    name: 'settle_worker_disputes_overdue',
    help: 'Disputed orders past the compliance SLA (alert)',
    registers: [registry],
  });
  const deleted = new Counter({
    name: 'settle_worker_retention_deleted_total',
    help: 'Rows deleted by retention, by table',
    labelNames: ['table'],
    registers: [registry],
  });
  const stuck = new Gauge({
    name: 'settle_worker_stuck_orders',
    help: 'Orders whose state and evidence disagree, by kind (repair: settle-ops repair)',
    labelNames: ['kind'],
    registers: [registry],
  });
  for (const kind of STUCK_KINDS) stuck.set({ kind }, 0);
  const lastProgress = new Gauge({
    name: 'settle_worker_last_progress_timestamp_seconds',
    help: 'Unix time the last timer sweep completed (its start until the first one)',
    registers: [registry],
  });
  lastProgress.setToCurrentTime();
  const failures = new Counter({
    name: 'settle_worker_failures_total',
    help: 'Worker iterations that failed (retried next interval)',
    labelNames: ['step'],
    registers: [registry],
  });

  let stopping = false;
  let lastSweep = Date.now();
  let lastRetention = 0;
  let lastReconcile = 0;
  let wake: (() => void) | undefined;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = async (): Promise<void> => {
    while (!stopping) {
      let full = false;
      try {
        const stop = sweepSeconds.startTimer();
        const result = await sweepTimers(pool, {
          batchSize: options.batchSize,
          policy: options.policy ?? DEFAULT_POLICY,
          ...(options.tracing !== undefined ? { tracing: options.tracing } : {}),
        });
        stop();
        lastSweep = Date.now();
        lastProgress.set(lastSweep / 1000);
        fired.inc({ action: 'expire' }, result.fired.expire);
        fired.inc({ action: 'escalate' }, result.fired.escalate);
        lost.inc(result.lost);
        full = result.fired.expire + result.fired.escalate + result.lost >= options.batchSize;
        if (result.fired.expire + result.fired.escalate > 0) logger.info(result, 'timers fired');
        const late = await overdueDisputes(pool);
        overdue.set(late);
        if (late > 0) logger.warn({ overdue: late }, 'disputes past the compliance SLA need a person');
      } catch (error) {
        failures.inc({ step: 'timers' });
        logger.error({ err: error }, 'timer sweep failed; retrying next interval');
      }
      if (Date.now() - lastRetention >= (options.retentionEveryMs ?? 600_000)) {
        lastRetention = Date.now();
        try {
          const result = await applyRetention(pool, options.retention);
          for (const [key, table] of Object.entries(RETENTION_TABLES) as Array<[keyof RetentionResult, string]>)
            deleted.inc({ table }, result[key]);
        } catch (error) {
          failures.inc({ step: 'retention' });
          logger.error({ err: error }, 'retention failed; retrying next round');
        }
      }
      if (Date.now() - lastReconcile >= (options.reconcileEveryMs ?? 60_000)) {
        lastReconcile = Date.now();
        try {
          const found = await findStuckOrders(pool);
          for (const kind of STUCK_KINDS) stuck.set({ kind }, found.filter((item) => item.kind === kind).length);
          if (found.length > 0) {
            logger.warn(
              {
                stuck: found.length,
                orders: found.slice(0, 20).map((item) => ({ orderId: item.order.id, kind: item.kind, detail: item.detail })),
              },
              'stuck orders found: run `settle-ops repair --dry-run` to review, then --apply',
            );
          }
        } catch (error) {
          failures.inc({ step: 'reconcile' });
          logger.error({ err: error }, 'reconciler failed; retrying next round');
        }
      }
      if (!full && !stopping) await sleep(options.intervalMs);
    }
  };
  const done = loop();
  return {
    async stop() {
      stopping = true;
      wake?.();
      await done;
    },
    lastSweepAt: () => lastSweep,
  };
}
