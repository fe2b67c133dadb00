import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { TokenVerifier } from '@settle/auth';
import { orderPolicy, type ApiConfig } from '@settle/config';
import type { Pool } from '@settle/db';
import { idOnlyTracing, type Logger, type Tracing } from '@settle/observability';
import { accessLog, traceRequests } from './access-log';
import { authenticate } from './auth';
import { jsonBody } from './body';
import { deskRoutes } from './desk';
import { orderResponses } from './http';
import { recordRequestDurations } from './metrics';
import { openApiDocument } from './openapi';
import { notFoundRoute, problemHandler } from './problem';
import { createRateLimits, type RateLimitRedis } from './rate-limit';
import { accountRoutes } from './routes/accounts';
import { devRoutes } from './routes/dev';
import { notificationRoutes } from './routes/notifications';
import { orderRoutes } from './routes/orders';
import { webhookRoutes } from './routes/webhooks';
import { noStoreUnder, securityHeaders } from './security';
import { schemaRoutes } from './schemas';

export interface AppDependencies {
  config: ApiConfig;
  pool: Pool;
  logger: Logger;
  verify: TokenVerifier;
  registry: Registry;
  /** The order book's current sequence (the notifier assigns it to each book broadcast). */
  bookSeq: () => Promise<number>;
  /** Rate-limit counters shared with other API processes (REDIS_URL). @default in-process memory */
  redis?: RateLimitRedis | undefined;
  /** Spans of requests (OTEL_TRACES_EXPORTER=otlp), or ids only. @default idOnlyTracing */
  tracing?: Tracing | undefined;
}

/**
 * The API's departures from stock Express 5 for speed. Each has the same behaviour as the Express path it replaces
 * (the tests run both), and each is kept for the gain bench:api measures against that path in the same run
 * (apps/api/README.md). All on unless an option turns one off; only bench/api and the tests do.
 */
export interface ExpressBends {
  /** A plain UTF-8 JSON body is read by src/body.ts; off, express.json reads every body. @default true */
  fastJsonBody: boolean;
}

/** Every bend on: the API as shipped. */
export const ALL_BENDS: Readonly<ExpressBends> = { fastJsonBody: true };

export interface AppOptions {
  /** Bends to turn off for a measurement or a test. @default ALL_BENDS */
  expressBends?: Partial<ExpressBends> | undefined;
}

/** Paths that need a bearer token. */
const AUTHENTICATED = ['/v1', '/api'];

const swaggerDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The Express app: JSON in, JSON or problem+json out; routes are thin over packages/db. */
export function createApp(deps: AppDependencies, options: AppOptions = {}): Express {
  const bends = { ...ALL_BENDS, ...options.expressBends };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  recordRequestDurations(app, deps.registry);
  const tracing = deps.tracing ?? idOnlyTracing;
  app.use(traceRequests(tracing));
  app.use(accessLog(deps.logger, tracing));

  // Before the body is read: a refused request costs no parsing.
  const limits = createRateLimits({ config: deps.config, logger: deps.logger, redis: deps.redis, authenticatedPrefixes: AUTHENTICATED });
  app.use(securityHeaders(deps.config, [DOCS_SCRIPT]));
  app.use(noStoreUnder(AUTHENTICATED));
  app.use(limits.anonymous);
  app.use(jsonBody({ fastPath: bends.fastJsonBody }));

  // The API's routes first: they are what nearly every request is for, and Express tries layers in order.
  if (deps.config.DEV_AUTH) app.use(devRoutes(deps.pool, deps.config));
  app.use(authenticate(deps.verify, AUTHENTICATED));
  app.use(limits.principal);
  const policy = orderPolicy(deps.config);
  app.use(orderRoutes(deps.pool, deps.bookSeq, policy, orderResponses()));
  app.use(accountRoutes(deps.pool, policy));
  app.use(webhookRoutes(deps.pool, deps.config));
  app.use(notificationRoutes(deps.pool));
  app.use(deskRoutes(deps.config));
  app.use(schemaRoutes());

  app.get('/health', (_request, response) => void response.json({ status: 'ok' }));
  app.get('/ready', async (_request, response) => {
    await deps.pool.query('SELECT 1');
    response.json({ status: 'ok' });
  });
  // In production /metrics is on the admin port only (main.ts), and the docs only with API_DOCS=1.
  if (deps.config.NODE_ENV !== 'production') {
    app.get('/metrics', async (_request, response) => {
      response.type(deps.registry.contentType).send(await deps.registry.metrics());
    });
  }
  if (deps.config.API_DOCS ?? deps.config.NODE_ENV !== 'production') {
    const document = openApiDocument({ devAuth: deps.config.DEV_AUTH });
    app.get('/openapi.json', (_request, response) => void response.json(document));
    app.get('/docs', (_request, response) => void response.type('html').send(DOCS_PAGE));
    app.use('/docs/assets', express.static(swaggerDir, { index: false }));
  }

  app.use(notFoundRoute);
  app.use(problemHandler(deps.logger));
  return app;
}

/** The docs page's one inline script (allowed by its hash in the CSP). */
const DOCS_SCRIPT = "window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });";
const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Settle API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>${DOCS_SCRIPT}</script>
</body></html>`;
