/** The closed set of failure codes; each maps to one HTTP status and problem type (see `errorStatus`). */
export type ErrorCode =
  | 'INVALID_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'PRECONDITION_REQUIRED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** One status table: code → HTTP status and a short title. */
export const errorStatus: Record<ErrorCode, { status: number; title: string }> = {
  INVALID_INPUT: { status: 400, title: 'Invalid input' },
  UNAUTHENTICATED: { status: 401, title: 'Unauthenticated' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  CONFLICT: { status: 409, title: 'Conflict' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused' },
  PRECONDITION_REQUIRED: { status: 428, title: 'Precondition required' },
  INTERNAL: { status: 500, title: 'Internal error' },
  UNAVAILABLE: { status: 503, title: 'Service unavailable' },
};

export interface SettleErrorOptions {
  cause?: unknown;
  /** Machine-readable extras for the problem document (e.g. the current orderVersion and status). */
  extra?: Record<string, unknown>;
  /** Whether retrying the same operation later can succeed. @default true only for UNAVAILABLE */
  retryable?: boolean;
}

/** The one error type of Settle. `detail` is a sentence a person can act on. */
export class SettleError extends Error {
  override name = 'SettleError';
  readonly code: ErrorCode;
  readonly extra: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(code: ErrorCode, detail: string, options: SettleErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.extra = options.extra ?? {};
    this.retryable = options.retryable ?? code === 'UNAVAILABLE';
  }

  get status(): number {
    return errorStatus[this.code].status;
  }
}

export function isSettleError(error: unknown): error is SettleError {
  return error instanceof SettleError;
}
