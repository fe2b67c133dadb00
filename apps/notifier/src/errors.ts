import { ConsumerFailure, PermanentFailure, type Disposition } from '@settle/kafka';

/**
 * The notifier's failures, each raised with its disposition (@settle/kafka failures.ts). Their names are the
 * `dlt-exception-class` of the dead letters they cause: public, filtered on by `settle-ops dlq list`.
 */

/**
 * A message that can never be processed as it is (bad JSON, schema-invalid, unknown type, a snapshot that disagrees
 * with its event): it goes to the dead-letter topic after one attempt. Everything the processor throws instead is
 * retried; a row another session does not see yet is never a reason for a dead letter.
 */
export class PermanentEventError extends PermanentFailure {
  override name: string;

  constructor(name: 'InvalidJsonError' | 'SchemaValidationError' | 'UnknownEventTypeError', detail: string, cause?: unknown) {
    super(detail, cause === undefined ? undefined : { cause });
    this.name = name;
  }
}

type WebhookFailureName =
  'WebhookRejectedError' | 'WebhookDestinationRefusedError' | 'WebhookUnavailableError' | 'WebhookRetriesExhaustedError';

/** A webhook attempt that did not deliver. */
export class WebhookFailure extends ConsumerFailure {
  override name: WebhookFailureName;

  constructor(name: WebhookFailureName, disposition: Disposition, detail: string) {
    super(disposition, detail);
    this.name = name;
  }
}

/** What a receiver's answer means for its delivery. */
export interface WebhookAnswer {
  statusCode: number | null;
  error: string | null;
  /** Why the endpoint's host may not be reached (it resolves to a non-public address); nothing was sent. */
  refused?: string;
}

/**
 * The failure an answer is, or undefined for a 2xx. No answer, 408, 429 and 5xx are retryable (the receiver may
 * accept it later); any other status is the receiver's refusal for good, and a destination that may not be called
 * never becomes callable by retrying.
 */
export function webhookFailure(url: string, answer: WebhookAnswer): WebhookFailure | undefined {
  const status = answer.statusCode;
  if (status !== null && status >= 200 && status < 300) return undefined;
  if (answer.refused !== undefined)
    return new WebhookFailure('WebhookDestinationRefusedError', 'permanent', `${url} was not called: ${answer.refused}`);
  if (status === null || status === 408 || status === 429 || status >= 500)
    return new WebhookFailure(
      'WebhookUnavailableError',
      'retryable',
      `${url} did not accept the delivery (${answer.error ?? 'no answer'})`,
    );
  return new WebhookFailure('WebhookRejectedError', 'permanent', `${url} rejected the delivery with HTTP ${status}`);
}

/** The dead letter's failure when a retryable one ran out of attempts. */
export function retriesExhausted(url: string, attempts: number, last: WebhookAnswer): WebhookFailure {
  return new WebhookFailure(
    'WebhookRetriesExhaustedError',
    'permanent',
    `${url} did not accept the delivery after ${attempts} attempts (last: ${last.error ?? 'no answer'})`,
  );
}

export function describe(error: unknown): { name: string; message: string; stack: string } {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack ?? `${error.name}: ${error.message}` };
  return { name: 'Error', message: String(error), stack: String(error) };
}
