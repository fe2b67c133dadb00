/**
 * A failure that retrying cannot fix (the event is wrong for this consumer, a referenced record can never exist):
 * the message goes to the dead-letter topic at once and the order's later events are held.
 */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
}

/** A message that is not a valid order event (not JSON, schema-invalid, unknown type, key ≠ orderId). */
export class InvalidEventError extends PermanentError {
  override readonly name = 'InvalidEventError';
}

/** Whether retrying `error` can help: everything except a PermanentError is treated as transient. */
export function isPermanent(error: unknown): boolean {
  return error instanceof PermanentError;
}
