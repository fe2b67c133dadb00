import { dispositionOf, PermanentFailure } from '@settle/kafka';

/**
 * A failure that retrying cannot fix (the event is wrong for this consumer, a referenced record can never exist):
 * the message goes to the dead-letter topic at once and the order's later events are held. The one taxonomy of
 * Settle's consumers (@settle/kafka failures.ts): anything else a handler throws is retried.
 */
export class PermanentError extends PermanentFailure {
  override name = 'PermanentError';
}

/** A message that is not a valid order event (not JSON, schema-invalid, unknown type, key ≠ orderId). */
export class InvalidEventError extends PermanentError {
  override name = 'InvalidEventError';
}

/** Whether `error` was raised as permanent (retrying cannot help); everything else is retried. */
export function isPermanent(error: unknown): boolean {
  return dispositionOf(error) === 'permanent';
}
