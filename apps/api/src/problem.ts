import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { unavailableFromConnection } from '@settle/db';
import { errorStatus, isSettleError, SettleError, type ErrorCode } from '@settle/domain';
import type { Logger } from '@settle/observability';

export const PROBLEM_TYPE_BASE = 'https://settle.dev/problems/';

/** The problem `type` URI of an error code, e.g. `https://settle.dev/problems/conflict`. */
export const problemType = (code: ErrorCode): string => `${PROBLEM_TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`;

/** Seconds a client is asked to wait before retrying a 503 (a dependency is down; restarts take seconds). */
const RETRY_AFTER_SECONDS = '2';

/** Writes an RFC 9457 problem document; conflicts carry the order's current version and status, 503s a Retry-After. */
export function sendProblem(response: Response, error: SettleError, instance: string): void {
  const { status, title } = errorStatus[error.code];
  if (error.code === 'UNAVAILABLE' && error.retryable) response.setHeader('retry-after', RETRY_AFTER_SECONDS);
  const { orderVersion, status: orderStatus, ...rest } = error.extra;
  response
    .status(status)
    .type('application/problem+json')
    .json({
      type: problemType(error.code),
      title,
      status,
      detail: error.message,
      instance,
      ...(typeof orderVersion === 'number' ? { orderVersion } : {}),
      ...(typeof orderStatus === 'string' ? { orderStatus } : {}),
      ...rest,
    });
}

/** An http-errors error (body-parser, the router) a client caused: a 4xx status, maybe a `type`. */
interface ClientHttpError {
  status: number;
  type?: unknown;
  code?: unknown;
}

const isClientHttpError = (error: unknown): error is ClientHttpError =>
  typeof error === 'object' &&
  error !== null &&
  'status' in error &&
  typeof error.status === 'number' &&
  error.status >= 400 &&
  error.status < 500;

/** Body-parser and router failures, as SettleErrors with a detail a person can act on; undefined when not the client's. */
function fromHttpError(error: unknown): SettleError | undefined {
  if (!isClientHttpError(error)) return undefined;
  switch (error.type) {
    case 'entity.parse.failed':
      return new SettleError('INVALID_INPUT', 'the request body is not valid JSON', { cause: error });
    case 'entity.too.large':
      return new SettleError('PAYLOAD_TOO_LARGE', 'the request body is larger than 64 KB', { cause: error });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new SettleError('UNSUPPORTED_MEDIA_TYPE', 'send the body as UTF-8 JSON', { cause: error });
    case 'request.aborted':
    case 'request.size.invalid':
      return new SettleError('INVALID_INPUT', 'the request body ended before its Content-Length: send the whole body', { cause: error });
    default:
  }
  if (typeof error.code === 'string' && error.code.startsWith('Z_')) {
    return new SettleError(
      'INVALID_INPUT',
      'the request body does not decompress: send it as its Content-Encoding says (gzip, deflate or br), or uncompressed without Content-Encoding',
      { cause: error },
    );
  }
  if (error instanceof URIError)
    return new SettleError('INVALID_INPUT', 'the URL has invalid percent-encoding: encode each byte of UTF-8 as %XX', { cause: error });
  if (error.status === 413) return new SettleError('PAYLOAD_TOO_LARGE', 'the request body is larger than 64 KB', { cause: error });
  if (error.status === 415) return new SettleError('UNSUPPORTED_MEDIA_TYPE', 'send the body as UTF-8 JSON', { cause: error });
  return new SettleError('INVALID_INPUT', 'the request could not be read: check its headers and body', { cause: error });
}

/**
 * The last middleware: every error becomes problem+json. A client's mistake (4xx) is not logged here: the access
 * log's one line for the request (at warn) carries its detail. A server failure is logged with its cause.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    const log = (request as { log?: Logger }).log ?? logger;
    const settle = isSettleError(error) ? error : (fromHttpError(error) ?? unavailableFromConnection(error));
    if (settle !== undefined) {
      if (settle.status >= 500) log.error({ err: error, url: request.originalUrl }, settle.message);
      else response.locals['problemDetail'] = settle.message;
      sendProblem(response, settle, request.originalUrl);
      return;
    }
    log.error({ err: error, url: request.originalUrl, method: request.method }, 'unhandled error');
    sendProblem(
      response,
      new SettleError('INTERNAL', 'an internal error occurred; nothing was changed if the request did not answer 2xx'),
      request.originalUrl,
    );
  };
}

export const notFoundRoute: RequestHandler = (request) => {
  throw new SettleError('NOT_FOUND', `no route ${request.method} ${request.path}; see /docs for the API`);
};
