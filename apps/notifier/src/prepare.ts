import { orderEvent, type BookPayload, type NotificationPayload, type OrderEventDto } from '@settle/contracts';
import { audienceOf, EVENT_TYPES, recipientKey, toBookSummary, type Audience } from '@settle/domain';
import type { NotificationInput } from '@settle/db';
import { EVENT_HEADERS, headerText, traceparentOf } from '@settle/kafka';
import { idOnlyTracing, type TraceSpan, type Tracing } from '@settle/observability';
import type { KafkaMessage } from 'kafkajs';
import { describe, PermanentEventError } from './errors';

export type Parsed =
  | { ok: true; event: OrderEventDto; message: KafkaMessage }
  | { ok: false; error: PermanentEventError; message: KafkaMessage; eventId: string | undefined };

/** A message that is no valid order event, with the PermanentEventError it is dead-lettered with. */
const invalid = (
  message: KafkaMessage,
  eventId: string | undefined,
  name: ConstructorParameters<typeof PermanentEventError>[0],
  detail: string,
  cause?: unknown,
): Parsed => ({ ok: false, message, eventId, error: new PermanentEventError(name, detail, cause) });

/** Validates one Kafka message as an order event; every failure here is permanent. */
export function parseEvent(message: KafkaMessage): Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch (error) {
    return invalid(message, undefined, 'InvalidJsonError', `the message value is not JSON: ${describe(error).message}`, error);
  }
  const eventId =
    typeof raw === 'object' && raw !== null && typeof (raw as { eventId?: unknown }).eventId === 'string'
      ? (raw as { eventId: string }).eventId
      : undefined;
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && !(EVENT_TYPES as readonly string[]).includes(type)) {
    return invalid(message, eventId, 'UnknownEventTypeError', `unknown event type "${type}"; known: ${EVENT_TYPES.join(', ')}`);
  }
  const parsed = orderEvent.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    return invalid(
      message,
      eventId,
      'SchemaValidationError',
      `the event does not match the orderEvent schema: ${issues.join('; ')}`,
      parsed.error,
    );
  }
  const event = parsed.data;
  if (event.order.id !== event.orderId || event.order.orderVersion !== event.orderVersion || event.order.status !== event.status) {
    return invalid(
      message,
      eventId,
      'SchemaValidationError',
      'the event disagrees with its order snapshot (orderId, orderVersion or status)',
    );
  }
  return { ok: true, event, message };
}

/** Everything a client is sent about an event carries the change's traceparent, when its message had one. */
export const notificationOf = (event: OrderEventDto, traceparent: string | undefined): Omit<NotificationPayload, 'seq'> => ({
  type: event.type,
  eventId: event.eventId,
  orderId: event.orderId,
  orderNumber: event.orderNumber,
  orderVersion: event.orderVersion,
  status: event.status,
  minimalStatus: event.minimalStatus,
  previousStatus: event.previousStatus,
  actor: event.actor,
  occurredAt: event.occurredAt,
  order: event.order,
  ...(traceparent !== undefined ? { traceparent } : {}),
});

export const bookOf = (event: OrderEventDto, traceparent: string | undefined): Omit<BookPayload, 'bookSeq'> => ({
  type: event.type,
  eventId: event.eventId,
  orderId: event.orderId,
  orderVersion: event.orderVersion,
  status: event.status,
  minimalStatus: event.minimalStatus,
  previousStatus: event.previousStatus,
  occurredAt: event.occurredAt,
  onBook: event.type === 'order.created',
  order: toBookSummary(event.order),
  ...(traceparent !== undefined ? { traceparent } : {}),
});

type Item<T> = T & { topic: string; partition: number };

/** A valid event of a chunk, with what writing and emitting it needs. */
export interface PreparedEvent {
  item: Item<Extract<Parsed, { ok: true }>>;
  audience: Audience;
  traceparent: string | undefined;
  span: TraceSpan | undefined;
  /** The merchants among the recipients (their webhook endpoints are looked up). */
  merchants: string[];
  /** What a recipient's socket is sent, without its seq. */
  payload: Omit<NotificationPayload, 'seq'>;
  /** One row per recipient. */
  inputs: NotificationInput[];
}

/** A message that can never be handled: it goes to the dead-letter topic. */
export type PoisonMessage = Item<Extract<Parsed, { ok: false }>>;

/** A chunk of one partition, parsed: its valid events and its poison messages. */
export interface PreparedChunk {
  events: PreparedEvent[];
  poison: PoisonMessage[];
}

/**
 * Re-published events (`settle-ops outbox republish`) are for downstream services recovering their state: every
 * screen and webhook had them when they were first published, so they are skipped and their offsets committed.
 */
const isForScreens = (message: KafkaMessage): boolean => headerText(message.headers, EVENT_HEADERS.republished) === undefined;

/**
 * Parses a chunk as it arrives, while the writer waits on the database for the group before it: each event's
 * audience (domain), its socket payload and its rows. Nothing here reads the database.
 */
export function prepareChunk(
  messages: KafkaMessage[],
  { topic, partition }: { topic: string; partition: number },
  tracing: Tracing = idOnlyTracing,
): PreparedChunk {
  const events: PreparedEvent[] = [];
  const poison: PoisonMessage[] = [];
  for (const message of messages) {
    if (!isForScreens(message)) continue;
    const parsed = parseEvent(message);
    if (!parsed.ok) {
      poison.push({ ...parsed, topic, partition });
      continue;
    }
    const { event } = parsed;
    const audience = audienceOf(event);
    const traceparent = traceparentOf(message.headers);
    // Recorded spans only: with tracing off the event's own traceparent is all that is passed on.
    const span: TraceSpan | undefined = tracing.enabled
      ? tracing.startSpan(`process ${event.type}`, {
          parent: traceparent,
          kind: 'consumer',
          attributes: { 'settle.event_id': event.eventId, 'settle.order_id': event.orderId, 'messaging.destination.name': topic },
        })
      : undefined;
    const payload = notificationOf(event, traceparent);
    // The message's value is the event the payload was validated from: it is stored as it came.
    const json = message.value ?? undefined;
    events.push({
      item: { ...parsed, topic, partition },
      audience,
      traceparent,
      span,
      merchants: audience.recipients.filter((recipient) => recipient.kind === 'merchant').map((recipient) => recipient.id),
      payload,
      inputs: audience.recipients.map((recipient) => ({
        recipient: recipientKey(recipient),
        eventId: event.eventId,
        orderId: event.orderId,
        orderVersion: event.orderVersion,
        type: event.type,
        payload,
        ...(json !== undefined ? { json } : {}),
      })),
    });
  }
  return { events, poison };
}
