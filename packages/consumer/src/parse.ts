import type { KafkaMessage } from 'kafkajs';
import { typedOrderEvent, type TypedOrderEvent } from '@settle/contracts';
import { EVENT_HEADERS, headersAsText } from '@settle/kafka';
import { InvalidEventError } from './errors';

/** A message from the order events topic, validated. */
export interface ParsedMessage {
  event: TypedOrderEvent;
  headers: Record<string, string>;
  /** Sent again by `settle-ops outbox republish`: an event already published once. */
  republished: boolean;
}

/**
 * Parses and validates a message against the event schemas (tolerant of fields added within a version); throws
 * InvalidEventError for anything a retry cannot make valid.
 */
export function parseOrderEventMessage(message: Pick<KafkaMessage, 'key' | 'value' | 'headers'>): ParsedMessage {
  const headers = headersAsText(message.headers);
  if (message.value === null) throw new InvalidEventError('the message has no value (a tombstone)');
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString('utf8'));
  } catch (error) {
    throw new InvalidEventError('the message value is not JSON', { cause: error });
  }
  const result = typedOrderEvent.safeParse(json);
  if (!result.success) {
    throw new InvalidEventError(
      `not a valid order event: ${result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
    );
  }
  const event = result.data;
  const key = message.key?.toString('utf8');
  if (key !== undefined && key !== event.orderId) throw new InvalidEventError(`the key ${key} is not the event's orderId ${event.orderId}`);
  return { event, headers, republished: headers[EVENT_HEADERS.republished] !== undefined };
}
