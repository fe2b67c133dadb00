import { SettleError } from '@settle/domain';

/**
 * A message that can never be processed as it is (bad JSON, schema-invalid, unknown type, a snapshot that disagrees
 * with its event): it goes to the dead-letter topic after one attempt. Everything else is transient and retried;
 * a row another session does not see yet is never a reason for a dead letter.
 */
export class PermanentEventError extends SettleError {
  override name: string;

  constructor(name: 'InvalidJsonError' | 'SchemaValidationError' | 'UnknownEventTypeError', detail: string, cause?: unknown) {
    super('INVALID_INPUT', detail, { retryable: false, ...(cause === undefined ? {} : { cause }) });
    this.name = name;
  }
}

/**
 * A webhook receiver refused a delivery for good (4xx other than 408/429), never accepted it, or its host resolves
 * to a non-public address (the endpoint is disabled).
 */
export class WebhookFailedError extends SettleError {
  override name: string;

  constructor(name: 'WebhookRejectedError' | 'WebhookRetriesExhaustedError' | 'WebhookDestinationRefusedError', detail: string) {
    super('UNAVAILABLE', detail, { retryable: false });
    this.name = name;
  }
}

/** Whether retrying later can help. Only errors that say they are permanent are; anything unknown is retried. */
export function isRetryable(error: unknown): boolean {
  return !(error instanceof SettleError) || error.retryable;
}

export function describe(error: unknown): { name: string; message: string; stack: string } {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack ?? `${error.name}: ${error.message}` };
  return { name: 'Error', message: String(error), stack: String(error) };
}
