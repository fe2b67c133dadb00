import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { errorStatus, isSettleError, SettleError, type ErrorCode } from '@settle/domain';
import type { Logger } from '@settle/observability';

export const PROBLEM_TYPE_BASE = 'https://settle.dev/problems/';

/** The problem `type` URI of an error code, e.g. `https://settle.dev/problems/conflict`. */
export const problemType = (code: ErrorCode): string => `${PROBLEM_TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`;

/** Writes an RFC 9457 problem document; conflicts carry the order's current version and status. */
export function sendProblem(response: Response, error: SettleError, instance: string): void {
  const { status, title } = errorStatus[error.code];
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

/** Body-parser failures, as SettleErrors with a detail a person can act on. */
function fromHttpError(error: unknown): SettleError | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  switch ((error as { type: unknown }).type) {
    case 'entity.parse.failed':
      return new SettleError('INVALID_INPUT', 'the request body is not valid JSON', { cause: error });
    case 'entity.too.large':
      return new SettleError('PAYLOAD_TOO_LARGE', 'the request body is larger than 64 KB', { cause: error });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new SettleError('UNSUPPORTED_MEDIA_TYPE', 'send the body as UTF-8 JSON', { cause: error });
    default:
      return undefined;
  }
}

/** The last middleware: every error becomes problem+json; unexpected ones are logged with their cause. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    const settle = isSettleError(error) ? error : fromHttpError(error);
    if (settle !== undefined) {
      if (settle.status >= 500) logger.error({ err: error, url: request.originalUrl }, settle.message);
      sendProblem(response, settle, request.originalUrl);
      return;
    }
    logger.error({ err: error, url: request.originalUrl, method: request.method }, 'unhandled error');
    sendProblem(response, new SettleError('INTERNAL', 'an internal error occurred; nothing was changed if the request did not answer 2xx'), request.originalUrl);
  };
}

export const notFoundRoute: RequestHandler = (request) => {
  throw new SettleError('NOT_FOUND', `no route ${request.method} ${request.path}; see /docs for the API`);
};
