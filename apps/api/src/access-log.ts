import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger, TraceSpan, Tracing } from '@settle/observability';

/** What a client may send as X-Request-Id; anything else is replaced by a generated id. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The order a path is about (`/v1/orders/<id>/…`, `/api/orders/<id>/…`), or the one a create's Location names. */
const ORDER_PATH = /^\/(?:v1|api)\/orders\/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?:[/?]|$)/;

/** The request's id: the client's X-Request-Id when it is a sensible token, else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

const pathOf = (url: string | undefined): string => {
  const path = url ?? '/';
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
};

function orderIdOf(request: IncomingMessage, response: ServerResponse): string | undefined {
  const fromPath = ORDER_PATH.exec(request.url ?? '')?.[1];
  if (fromPath !== undefined) return fromPath.toLowerCase();
  const location = response.getHeader('location');
  return typeof location === 'string' ? ORDER_PATH.exec(location)?.[1] : undefined;
}

/** The request's span (set by `traceRequests`): its traceparent goes into the outbox row of the change it makes. */
export function traceOf(response: Response): TraceSpan | undefined {
  return response.locals['trace'] as TraceSpan | undefined;
}

/**
 * Continues the caller's W3C `traceparent` (or starts a trace) as this request's server span, answers its id in
 * `traceresponse` (W3C Trace Context level 2) and ends the span when the response is finished. With tracing on
 * the span is recorded and exported, and the request id becomes the trace id.
 */
export function traceRequests(tracing: Tracing): RequestHandler {
  return (request, response, next) => {
    const span = tracing.startSpan(`${request.method} request`, {
      parent: request.get('traceparent'),
      kind: 'server',
      attributes: { 'http.request.method': request.method },
    });
    response.locals['trace'] = span;
    response.setHeader('traceresponse', span.traceparent);
    if (tracing.enabled) {
      response.once('close', () => {
        const route = (request as Request).route as { path?: unknown } | undefined;
        const status = response.statusCode;
        span.setAttributes({
          'http.response.status_code': status,
          'url.path': pathOf(request.originalUrl ?? request.url),
          ...(typeof route?.path === 'string' ? { 'http.route': route.path } : {}),
        });
        span.end(status >= 500 ? new Error(`HTTP ${status}`) : undefined);
      });
    }
    next();
  };
}

/** One access-log line's fields: never headers (Authorization), bodies or the query string. */
function accessFields(request: IncomingMessage, response: ServerResponse, durationMs: number): Record<string, unknown> {
  const orderId = orderIdOf(request, response);
  const detail: unknown = (response as Response).locals?.['problemDetail'];
  const trace = (response as Response).locals === undefined ? undefined : traceOf(response as Response);
  return {
    method: request.method,
    path: pathOf((request as Request).originalUrl ?? request.url),
    status: response.statusCode,
    durationMs,
    ...(orderId !== undefined ? { orderId } : {}),
    ...(trace !== undefined ? { traceId: trace.traceId } : {}),
    ...(typeof detail === 'string' ? { detail } : {}),
  };
}

/**
 * The access log (pino-http): one line per request when it finishes, with method, path, status, durationMs, the
 * traceId and the orderId where there is one, at info (2xx/3xx), warn (4xx: the problem's detail too) or error (5xx). Each request
 * gets an id (its valid X-Request-Id, else a UUID) that is echoed in the X-Request-Id response header and bound to
 * `request.log`, so every line logged for the request carries it. With tracing on, the request id is the trace id.
 */
export function accessLog(logger: Logger, tracing: Pick<Tracing, 'enabled'>): RequestHandler {
  const middleware = pinoHttp({
    logger,
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId' },
    genReqId: (request, response) => {
      const trace = tracing.enabled ? traceOf(response as Response) : undefined;
      const id = trace?.traceId ?? requestIdOf(request.headers['x-request-id']);
      response.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_request, response, error) =>
      error !== undefined || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info',
    customSuccessObject: (request, response, fields: { responseTime: number }) => accessFields(request, response, fields.responseTime),
    // A 5xx's cause is logged once, with its stack, by the problem handler; this line only records the request.
    customErrorObject: (request, response, _error, fields: { responseTime: number }) =>
      accessFields(request, response, fields.responseTime),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request failed',
  });
  return (request, response, next) => middleware(request, response, next);
}
