import { loadAppConfig, orderPolicy } from '@settle/config';
import { createPool } from '@settle/db';
import { createLogger, createRegistry, onShutdown, startOpsServer, startTracing } from '@settle/observability';
import { retentionPolicy } from './retention';
import { startWorker } from './worker';

const config = loadAppConfig('worker');
const logger = createLogger('worker', config.LOG_LEVEL);
if (config.DATABASE_URL === undefined) {
  logger.fatal('DATABASE_URL is not set: run the worker through `npm start`, or set DATABASE_URL');
  process.exit(1);
}
const pool = createPool(config.DATABASE_URL, { max: 4, applicationName: 'settle-worker' }, (error) =>
  logger.error({ err: error }, 'idle database client failed'),
);
const registry = createRegistry('worker');
const tracing = await startTracing(config, 'worker', logger);
const worker = startWorker({
  pool,
  logger,
  registry,
  tracing,
  intervalMs: config.WORKER_INTERVAL_MS,
  batchSize: config.WORKER_BATCH_SIZE,
  policy: orderPolicy(config),
  retention: retentionPolicy(config),
});
// Idle for 5 minutes means the loop is stuck: /health says so (the seed's "worker idle 5 min" alert).
const ops = await startOpsServer({
  port: config.WORKER_PORT,
  host: config.HOST,
  registry,
  health: () => {
    const idleMs = Date.now() - worker.lastSweepAt();
    return { ok: idleMs < 5 * 60_000, details: { lastSweepSecondsAgo: Math.round(idleMs / 1000) } };
  },
});
logger.info({ port: ops.port, intervalMs: config.WORKER_INTERVAL_MS }, 'worker running: timers and retention');

onShutdown(
  logger,
  async () => {
    await worker.stop();
    await ops.close();
    await pool.end();
    await tracing.shutdown();
  },
  config.SETTLE_SUPERVISED,
);
