import type { RequestHandler, Request } from 'express';
import { bearerToken, type TokenVerifier } from '@settle/auth';
import { SettleError, type Actor } from '@settle/domain';

declare module 'express-serve-static-core' {
  interface Request {
    /** The verified caller; set by `authenticate`. */
    actor?: Actor;
  }
}

/** Requires `Authorization: Bearer <jwt>`; the actor of every change comes from this token only. */
export function authenticate(verify: TokenVerifier): RequestHandler {
  return async (request, _response, next) => {
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
