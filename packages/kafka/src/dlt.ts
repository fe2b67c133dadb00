import type { IHeaders, KafkaMessage } from 'kafkajs';
import { isTraceparent } from '@settle/contracts';

/** Header names of a dead letter (ARCHITECTURE.md, "Kafka contract"). */
export const DLT_HEADERS = {
  originalTopic: 'dlt-original-topic',
  originalPartition: 'dlt-original-partition',
  originalOffset: 'dlt-original-offset',
  originalTimestamp: 'dlt-original-timestamp',
  consumerGroup: 'dlt-original-consumer-group',
  exceptionClass: 'dlt-exception-class',
  exceptionMessage: 'dlt-exception-message',
  exceptionStacktrace: 'dlt-exception-stacktrace',
  attempts: 'dlt-attempts',
  eventId: 'dlt-event-id',
  /** Which channel failed: `socket` (the event itself is poison) or `webhook` (a receiver rejected it). */
  channel: 'dlt-channel',
  /** For webhook dead letters: the endpoint that rejected the delivery. */
  webhookEndpoint: 'dlt-webhook-endpoint-id',
} as const;

/** Headers a replay (`settle-ops dlq replay`) adds to the re-published message. */
export const REPLAY_HEADERS = {
  /** The dead_letters id this message re-publishes. */
  replayOf: 'settle-replay-of',
  /** How many times this message has been replayed, carried across DLT round trips. */
  replayCount: 'settle-replay-count',
  /** `webhook` when only a webhook delivery should be retried; absent for the socket channel. */
  channel: 'settle-replay-channel',
  webhookEndpoint: 'settle-replay-webhook-endpoint-id',
} as const;

/** Where a dead letter came from and why it died. */
export interface DeadLetterInfo {
  originalTopic: string;
  originalPartition: number;
  originalOffset: string;
  /** The original message's timestamp (ms since the epoch, as Kafka gives it). */
  originalTimestamp: string;
  consumerGroup: string;
  exceptionClass: string;
  exceptionMessage: string;
  exceptionStacktrace: string;
  attempts: number;
  eventId: string | undefined;
  channel: 'socket' | 'webhook';
  webhookEndpointId?: string | undefined;
}

const STACK_LIMIT = 8_000;

/** The headers of a dead letter: the original message's own headers (minus old dlt-*) plus the dlt-* ones. */
export function deadLetterHeaders(info: DeadLetterInfo, original: IHeaders = {}): IHeaders {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(original)) {
    if (!name.startsWith('dlt-') && value !== undefined) headers[name] = value;
  }
  headers[DLT_HEADERS.originalTopic] = info.originalTopic;
  headers[DLT_HEADERS.originalPartition] = String(info.originalPartition);
  headers[DLT_HEADERS.originalOffset] = info.originalOffset;
  headers[DLT_HEADERS.originalTimestamp] = info.originalTimestamp;
  headers[DLT_HEADERS.consumerGroup] = info.consumerGroup;
  headers[DLT_HEADERS.exceptionClass] = info.exceptionClass;
  headers[DLT_HEADERS.exceptionMessage] = info.exceptionMessage;
  headers[DLT_HEADERS.exceptionStacktrace] = info.exceptionStacktrace.slice(0, STACK_LIMIT);
  headers[DLT_HEADERS.attempts] = String(info.attempts);
  if (info.eventId !== undefined) headers[DLT_HEADERS.eventId] = info.eventId;
  headers[DLT_HEADERS.channel] = info.channel;
  if (info.webhookEndpointId !== undefined) headers[DLT_HEADERS.webhookEndpoint] = info.webhookEndpointId;
  return headers;
}

/** A header's value as text (kafkajs gives Buffers, or arrays for repeated headers: the last wins). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last === undefined ? undefined : Buffer.isBuffer(last) ? last.toString('utf8') : String(last);
}

/** Every header of a message as text. */
export function headersAsText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers ?? {})) {
    const value = headerText(headers, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Reads the dlt-* headers of a message from the dead-letter topic; undefined when they are missing. */
export function readDeadLetter(message: Pick<KafkaMessage, 'headers'>): DeadLetterInfo | undefined {
  const get = (name: string): string | undefined => headerText(message.headers, name);
  const originalTopic = get(DLT_HEADERS.originalTopic);
  const exceptionClass = get(DLT_HEADERS.exceptionClass);
  if (originalTopic === undefined || exceptionClass === undefined) return undefined;
  const channel = get(DLT_HEADERS.channel) === 'webhook' ? 'webhook' : 'socket';
  return {
    originalTopic,
    originalPartition: Number(get(DLT_HEADERS.originalPartition) ?? -1),
    originalOffset: get(DLT_HEADERS.originalOffset) ?? '-1',
    originalTimestamp: get(DLT_HEADERS.originalTimestamp) ?? '',
    consumerGroup: get(DLT_HEADERS.consumerGroup) ?? '',
    exceptionClass,
    exceptionMessage: get(DLT_HEADERS.exceptionMessage) ?? '',
    exceptionStacktrace: get(DLT_HEADERS.exceptionStacktrace) ?? '',
    attempts: Number(get(DLT_HEADERS.attempts) ?? 1),
    eventId: get(DLT_HEADERS.eventId),
    channel,
    webhookEndpointId: get(DLT_HEADERS.webhookEndpoint),
  };
}

/**
 * The trace context an event message carries: `ce_traceparent` (CloudEvents distributed tracing), else a plain
 * `traceparent` header; undefined when neither is a valid W3C traceparent.
 */
export function traceparentOf(headers: IHeaders | undefined): string | undefined {
  const value = headerText(headers, 'ce_traceparent') ?? headerText(headers, 'traceparent');
  return isTraceparent(value) ? value : undefined;
}
