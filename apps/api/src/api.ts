import type { AddressInfo } from 'node:net';
import { createTokenVerifier } from '@settle/auth';
import type { ApiConfig } from '@settle/config';
import { createPool, currentBookSeq } from '@settle/db';
import { createRegistry, dependencyReadiness, startOpsServer, startTracing, type Logger } from '@settle/observability';
import { createClient } from 'redis';
import { createApp, type AppOptions } from './app';
import { applyServerLimits } from './server-limits';

export interface StartApiOptions extends AppOptions {
  config: ApiConfig;
  logger: Logger;
}

export interface Api {
  port: number;
  stop(): Promise<void>;
}

/**
 * The API process's parts from start to stop: its Postgres pool, the shared rate-limit counters (REDIS_URL), tracing,
 * the app on PORT (with the server limits) and, in production, /metrics on the admin port.
 */
export async function startApi({ config, logger, ...options }: StartApiOptions): Promise<Api> {
  if (config.DATABASE_URL === undefined) throw new Error('DATABASE_URL is not set: run the API through `npm start`, or set DATABASE_URL');
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
  const app = createApp(
    { config, pool, logger, verify: createTokenVerifier(config), registry, bookSeq: () => currentBookSeq(pool), redis, tracing },
    options,
  );
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
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const listening = (error?: Error): void => (error === undefined ? resolve(server) : reject(error));
    const server = config.HOST === undefined ? app.listen(config.PORT, listening) : app.listen(config.PORT, config.HOST, listening);
    applyServerLimits(server, config);
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.HOST, devAuth: config.DEV_AUTH }, `order API on http://localhost:${port}`);
  return {
    port,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await admin?.close();
      await pool.end();
      await redis?.quit();
      await tracing.shutdown();
    },
  };
}
