import { createHash } from 'node:crypto';
import http from 'node:http';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { ApiConfig } from '@settle/config';

/** The CSP source of an inline `<script>` whose text is exactly `script` (CSP hashes cover the element's text). */
export const scriptHashSource = (script: string): string => `'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`;

/** The websocket origin (`ws:`/`wss:`) of an http(s) origin. */
const websocketOrigin = (origin: string): string => origin.replace(/^http/, 'ws');

/**
 * Security headers on every response (helmet): a CSP for the pages the API serves (Swagger UI at /docs, the
 * merchant desk at /) that loads scripts and styles from this origin only, lets pages talk to this origin and the
 * notifier (http and ws), and forbids framing; `nosniff`, `Referrer-Policy: no-referrer`, HSTS.
 * `inlineScripts` are the exact texts of inline scripts those pages need (allowed by hash, not 'unsafe-inline').
 *
 * Every header helmet sets here is the same on every response, so helmet runs once, at start, and each request gets
 * the headers it wrote: its chain of a dozen middlewares cost ~10 µs per request, a few per cent of a transition.
 */
export function securityHeaders(config: Pick<ApiConfig, 'NOTIFIER_PUBLIC_URL'>, inlineScripts: readonly string[] = []): RequestHandler {
  const notifier = config.NOTIFIER_PUBLIC_URL;
  const headers = headersSetBy(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          'script-src': ["'self'", ...inlineScripts.map(scriptHashSource)],
          // Swagger UI sets style attributes from its scripts; no style comes from another origin.
          'style-src': ["'self'", "'unsafe-inline'"],
          'connect-src': ["'self'", notifier, websocketOrigin(notifier)],
          'frame-ancestors': ["'none'"],
          // The local stack serves plain http; upgrading its subresources to https would break /docs there.
          'upgrade-insecure-requests': null,
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      xFrameOptions: { action: 'deny' },
    }),
  );
  const names = headers.map(([name]) => name);
  const values = headers.map(([, value]) => value);
  return (_request, response, next) => {
    for (let index = 0; index < names.length; index += 1) response.setHeader(names[index] as string, values[index] as string);
    next();
  };
}

/** The headers a middleware that only sets constant headers writes, found by running it once on a detached response. */
function headersSetBy(middleware: RequestHandler): Array<[string, string]> {
  const request = new http.IncomingMessage(null as never);
  const response = new http.ServerResponse(request);
  let finished = false;
  middleware(request as never, response as never, (error?: unknown) => {
    if (error !== undefined) throw error instanceof Error ? error : new Error('the security middleware failed', { cause: error });
    finished = true;
  });
  if (!finished) throw new Error('the security header middleware did not finish at once');
  return Object.entries(response.getHeaders()).map(([name, value]) => [name, String(value)]);
}

/**
 * `Cache-Control: no-store` on every response under the authenticated prefixes (answers, errors and dev tokens
 * alike): they are one caller's data, and a shared cache must never keep them.
 */
export function noStoreUnder(prefixes: readonly string[]): RequestHandler {
  const under = pathsUnder(prefixes);
  return (request, response, next) => {
    if (under.test(request.path)) response.setHeader('cache-control', 'no-store');
    next();
  };
}

/**
 * Matches a path equal to or below one of `prefixes`, case-insensitively as Express routes match, without
 * allocating a lower-cased copy of every request's path.
 */
export function pathsUnder(prefixes: readonly string[]): RegExp {
  return new RegExp(`^(?:${prefixes.map((prefix) => prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?:/|$)`, 'i');
}
