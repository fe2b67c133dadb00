/**
 * What a consumer does with a failure, decided where the error is raised and read by the one place that retries or
 * dead-letters (the consumer kit's handler loop, the notifier's webhook dispatcher):
 *
 * - `retryable`: trying the same message again later can succeed (a database or broker that is down, a row another
 *   session has not committed yet, a receiver answering 5xx). The message is retried with backoff.
 * - `permanent`: it never will (the message is not a valid event, a receiver refused it for good). The message goes to
 *   the dead-letter topic at once.
 *
 * An error nobody classified is retryable: dead-lettering a message because of an outage would lose nothing but
 * would need a person to replay it, while a retry of a truly broken one only delays its dead letter.
 */
export type Disposition = 'retryable' | 'permanent';

export class ConsumerFailure extends Error {
  constructor(
    readonly disposition: Disposition,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A failure that retrying cannot fix: its message is dead-lettered at once. */
export class PermanentFailure extends ConsumerFailure {
  override name = 'PermanentFailure';

  constructor(message: string, options?: { cause?: unknown }) {
    super('permanent', message, options);
  }
}

/** A failure a later attempt can get past: its message is retried with backoff (until the attempts run out). */
export class RetryableFailure extends ConsumerFailure {
  override name = 'RetryableFailure';

  constructor(message: string, options?: { cause?: unknown }) {
    super('retryable', message, options);
  }
}

/** The disposition `error` was raised with; `retryable` for anything not raised as a ConsumerFailure. */
export function dispositionOf(error: unknown): Disposition {
  return error instanceof ConsumerFailure ? error.disposition : 'retryable';
}
