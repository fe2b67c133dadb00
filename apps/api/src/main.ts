import { createTokenVerifier } from '@settle/auth';
import { loadAppConfig } from '@settle/config';
import { createPool, currentBookSeq } from '@settle/db';
import { createLogger, createRegistry, dependencyReadiness, onShutdown, startOpsServer, startTracing } from '@settle/observability';
import { createClient } from 'redis';
import { createApp } from './app';
import { applyServerLimits } from './server-limits';

const config = loadAppConfig('settle-api');
const logger = createLogger('api', config.LOG_LEVEL);
if (config.DATABASE_URL === undefined) {
  logger.fatal('DATABASE_URL is not set: run the API through `npm start`, or set DATABASE_URL');
  process.exit(1);
}
const pool = createPool(
  config.DATABASE_URL,
  { max: config.API_PG_POOL_MAX, applicationName: 'settle-api', idleTimeoutMillis: 0 },
  (error) => logger.error({ err: error }, 'idle database client failed'),
);
// With REDIS_URL every API process counts against the same rate-limit budget.
const redis = config.REDIS_URL === undefined ? undefined : createClient({ url: config.REDIS_URL });
redis?.on('error', (error: unknown) => logger.warn({ err: error }, 'redis (rate limits) error'));
await redis?.connect();
const registry = createRegistry('api');
const tracing = await startTracing(config, 'api', logger);
const app = createApp({
  config,
  pool,
  logger,
  verify: createTokenVerifier(config),
  registry,
  bookSeq: () => currentBookSeq(pool),
  redis,
  tracing,
});
// Production keeps /metrics off the public port: a scraper reaches it on ADMIN_HOST:ADMIN_PORT.
const admin =
  config.NODE_ENV === 'production'
    ? await startOpsServer({
        port: config.ADMIN_PORT,
        host: config.ADMIN_HOST,
        registry,
        ready: dependencyReadiness({ database: () => pool.query('SELECT 1') }),
      })
    : undefined;
if (admin !== undefined) logger.info({ port: admin.port, host: config.ADMIN_HOST }, 'admin port (/metrics, /health, /ready)');
const listening = (): void =>
  logger.info({ port: config.PORT, host: config.HOST, devAuth: config.DEV_AUTH }, `order API on http://localhost:${config.PORT}`);
const server = config.HOST === undefined ? app.listen(config.PORT, listening) : app.listen(config.PORT, config.HOST, listening);
applyServerLimits(server, config);

onShutdown(
  logger,
  async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await admin?.close();
    await pool.end();
    await redis?.quit();
    await tracing.shutdown();
  },
  process.env['SETTLE_SUPERVISED'] === '1',
);
