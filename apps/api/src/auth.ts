import type { RequestHandler, Request } from 'express';
import { bearerToken, type TokenVerifier } from '@settle/auth';
import { SettleError, type Actor } from '@settle/domain';

declare module 'express-serve-static-core' {
  interface Request {
    /** The verified caller; set by `authenticate`. */
    actor?: Actor;
  }
}

/**
 * Requires `Authorization: Bearer <jwt>` on every path under one of `prefixes` (e.g. `/v1`); the actor of
 * every change comes from this token only. (A path check here, not `app.use(prefixes, …)`: Express would
 * rewrite and restore each request's URL around a mounted middleware.)
 */
export function authenticate(verify: TokenVerifier, prefixes: string[]): RequestHandler {
  // Lower-cased: Express routes match case-insensitively, so /V1/merchants reaches /v1/merchants.
  const under = (path: string): boolean => prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  return async (request, _response, next) => {
    if (!under(request.path.toLowerCase())) {
      next();
      return;
    }
    const token = bearerToken(request.get('authorization'));
    if (token === undefined) throw new SettleError('UNAUTHENTICATED', 'send a bearer token: Authorization: Bearer <jwt>');
    const principal = await verify(token);
    request.actor = { role: principal.role, id: principal.id };
    next();
  };
}

/** The authenticated actor of a request (authenticate must have run). */
export function actorOf(request: Request): Actor {
  if (request.actor === undefined) throw new SettleError('UNAUTHENTICATED', 'send a bearer token: Authorization: Bearer <jwt>');
  return request.actor;
}
