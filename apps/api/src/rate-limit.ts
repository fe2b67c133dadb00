import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { rateLimit, type Options, type RateLimitInfo, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { ApiConfig } from '@settle/config';
import type { Logger } from '@settle/observability';
import { PROBLEM_TYPE_BASE } from './problem';
import { pathsUnder } from './security';

/** The one Redis call the counters need (node-redis: `(args) => client.sendCommand(args)`). */
export interface RateLimitRedis {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface RateLimitOptions {
  config: Pick<ApiConfig, 'API_RATE_LIMIT_PRINCIPAL' | 'API_RATE_LIMIT_ANONYMOUS' | 'API_RATE_LIMIT_WINDOW_MS' | 'API_REDIS_KEY'>;
  logger: Logger;
  /** Counters in Redis, shared by every API process using the same API_REDIS_KEY. @default in-process memory */
  redis?: RateLimitRedis | undefined;
  /** Paths under these need a token: a request there with credentials is the principal limiter's. */
  authenticatedPrefixes: readonly string[];
}

export interface RateLimits {
  /** After `authenticate`: counts the verified token's subject; requests without an actor pass. */
  principal: RequestHandler;
  /** Before the routes: counts the client IP of every request that presents no credentials to an authenticated path. */
  anonymous: RequestHandler;
}

/** Per-key `RateLimit-Policy` values kept at most; past this the cache starts over (a key's value is cheap to remake). */
const MAX_CACHED_POLICIES = 50_000;

/**
 * Per-principal and per-IP request budgets (fixed windows, express-rate-limit). Over budget → 429
 * problem+json with `Retry-After`; every counted response carries the IETF `RateLimit` and `RateLimit-Policy`
 * headers (draft 8). Requests a limiter does not count never enter it, so the authenticated hot path pays for one
 * counter, not two.
 *
 * On that hot path the draft-8 headers are written here rather than by express-rate-limit, in the same format: it
 * hashes the key for the policy's partition key (`pk`) on every request, about half of its cost per request; here
 * each principal's policy value is made once.
 */
export function createRateLimits(options: RateLimitOptions): RateLimits {
  const { config, logger } = options;
  const windowMs = config.API_RATE_LIMIT_WINDOW_MS;
  const store = (name: string): { store?: Store } => {
    const redis = options.redis;
    if (redis === undefined) return {};
    return {
      store: new RedisStore({
        prefix: `${config.API_REDIS_KEY}:rl:${name}:`,
        sendCommand: (...args: string[]) => redis.sendCommand(args) as Promise<RedisReply>,
      }),
    };
  };
  const windowSeconds = Math.ceil(windowMs / 1000);
  const policies = new Map<string, string>();
  /** express-rate-limit's draft-8 headers (and Retry-After when over), from the count it left on the request. */
  const principalHeaders = (request: Request, response: Response): void => {
    const info = (request as Request & { rateLimit?: RateLimitInfo }).rateLimit;
    if (info === undefined || response.headersSent) return;
    let policy = policies.get(info.key);
    if (policy === undefined) {
      if (policies.size >= MAX_CACHED_POLICIES) policies.clear();
      const partition = Buffer.from(createHash('sha256').update(info.key).digest('hex').slice(0, 12)).toString('base64');
      policy = `"principal"; q=${info.limit}; w=${windowSeconds}; pk=:${partition}:`;
      policies.set(info.key, policy);
    }
    const reset = info.resetTime === undefined ? windowSeconds : Math.max(0, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000));
    response.setHeader('ratelimit', `"principal"; r=${info.remaining}; t=${reset}`);
    response.setHeader('ratelimit-policy', policy);
    if (info.used > info.limit) response.setHeader('retry-after', String(reset));
  };
  const limiter = (name: string, limit: number, who: string, keyGenerator: Options['keyGenerator'] | undefined): RequestHandler =>
    rateLimit({
      windowMs,
      limit,
      identifier: name,
      standardHeaders: keyGenerator === undefined ? 'draft-8' : false,
      legacyHeaders: false,
      ...(keyGenerator !== undefined ? { keyGenerator } : {}),
      ...store(name),
      // A counter store that is down must not take the API down with it; its errors are logged.
      passOnStoreError: true,
      logger: {
        warn: (...args: unknown[]) => logger.warn(args),
        error: (error: unknown, message?: unknown) => logger.error({ err: error }, String(message)),
      },
      // Only the per-principal key is ours; the IP limiter keeps express-rate-limit's checks of request.ip.
      validate: keyGenerator === undefined,
      handler: (request, response) => {
        if (keyGenerator !== undefined) principalHeaders(request, response);
        response
          .status(429)
          .type('application/problem+json')
          .json({
            type: `${PROBLEM_TYPE_BASE}too-many-requests`,
            title: 'Too many requests',
            status: 429,
            detail: `more than ${limit} requests in ${windowMs / 1000} s ${who}; retry after the number of seconds in Retry-After`,
            instance: request.originalUrl,
          });
      },
    });

  const principal = limiter('principal', config.API_RATE_LIMIT_PRINCIPAL, 'with this token subject', (request: Request) => {
    const actor = request.actor;
    return actor === undefined ? '' : `${actor.role}:${actor.id}`;
  });
  const anonymous = limiter('anonymous', config.API_RATE_LIMIT_ANONYMOUS, 'from this address without a token', undefined);
  const authenticatedPath = pathsUnder(options.authenticatedPrefixes);
  return {
    principal: (request, response, next) => {
      if (request.actor === undefined) next();
      else
        void principal(request, response, () => {
          principalHeaders(request, response);
          next();
        });
    },
    anonymous: (request, response, next) => {
      if (request.headers.authorization !== undefined && authenticatedPath.test(request.path)) next();
      else void anonymous(request, response, next);
    },
  };
}
