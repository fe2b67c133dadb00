import { mirrorDeadLetter, type DeadLetterRecord, type Pool } from '@settle/db';
import { headersAsText, readDeadLetter, REPLAY_HEADERS } from '@settle/kafka';
import type { KafkaMessage } from 'kafkajs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuidOrNull = (value: unknown): string | null => (typeof value === 'string' && UUID.test(value) ? value : null);

/** What the mirror can read from a dead letter's value, when it is JSON at all. */
function eventFacts(value: Buffer | null): {
  eventId: string | null;
  eventType: string | null;
  orderId: string | null;
  merchantIds: string[];
} {
  try {
    const raw = JSON.parse(value?.toString('utf8') ?? '') as Record<string, unknown>;
    const order = (typeof raw['order'] === 'object' && raw['order'] !== null ? raw['order'] : {}) as Record<string, unknown>;
    const merchantIds = [order['merchantId'], order['buyerMerchantId']].filter((id): id is string => typeof id === 'string' && id !== '');
    return {
      eventId: uuidOrNull(raw['eventId']),
      eventType: typeof raw['type'] === 'string' ? raw['type'] : null,
      orderId: uuidOrNull(raw['orderId']),
      merchantIds,
    };
  } catch {
    // Not JSON: the dead letter is kept with its raw bytes; filters by type/merchant just do not match it.
    return { eventId: null, eventType: null, orderId: null, merchantIds: [] };
  }
}

/** The dead_letters row of one message of the dead-letter topic. */
export function toDeadLetterRecord(topic: string, partition: number, message: KafkaMessage): DeadLetterRecord {
  const info = readDeadLetter(message);
  const headers = headersAsText(message.headers);
  const original = Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('dlt-')));
  const facts = eventFacts(message.value);
  return {
    dltTopic: topic,
    dltPartition: partition,
    dltOffset: message.offset,
    dltTimestamp: new Date(Number(message.timestamp)),
    originalTopic: info?.originalTopic ?? topic.replace(/\.dlt$/, ''),
    originalPartition: info === undefined || info.originalPartition < 0 ? null : info.originalPartition,
    originalOffset: info?.originalOffset ?? null,
    originalTimestamp: info?.originalTimestamp ?? null,
    consumerGroup: info?.consumerGroup ?? null,
    exceptionClass: info?.exceptionClass ?? 'UnknownDeadLetter',
    exceptionMessage: info?.exceptionMessage ?? 'the message has no dlt-* headers',
    exceptionStacktrace: info?.exceptionStacktrace ?? null,
    attempts: info?.attempts ?? 1,
    eventId: uuidOrNull(info?.eventId) ?? facts.eventId,
    eventType: facts.eventType,
    orderId: facts.orderId,
    merchantIds: facts.merchantIds,
    channel: info?.channel ?? 'socket',
    webhookEndpointId: uuidOrNull(info?.webhookEndpointId),
    key: message.key?.toString('utf8') ?? null,
    value: message.value,
    originalHeaders: original,
    replayCount: Number(original[REPLAY_HEADERS.replayCount] ?? 0) || 0,
  };
}

/** Handler for the mirror consumer: writes each dead letter once (idempotent on topic/partition/offset). */
export function createMirrorHandler(
  pool: Pool,
): (messages: KafkaMessage[], context: { topic: string; partition: number }) => Promise<void> {
  return async (messages, { topic, partition }) => {
    for (const message of messages) await mirrorDeadLetter(pool, toDeadLetterRecord(topic, partition, message));
  };
}
