import { EVENT_TYPES, type EventType } from '@settle/wire';
import { cloudEventType, dataSchemaUri, eventJsonSchema, schemaName } from './event-schemas';
import { bookPayload, notificationPayload } from './socket';
import { z } from './zod';

type Schema = Record<string, unknown>;

const header = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });

/** Headers the relay (and `settle-ops outbox republish`) put on every order event message; `required` unless noted. */
function orderEventHeaders(type: EventType): Schema {
  const properties: Record<string, Schema> = {
    id: header('outbox row id (= eventId)', { format: 'uuid' }),
    'content-type': header('always application/json', { const: 'application/json' }),
    ce_specversion: header('CloudEvents spec version', { const: '1.0' }),
    ce_id: header('CloudEvents id (= eventId)', { format: 'uuid' }),
    ce_type: header("CloudEvents type: the event type with its schema version (the payload's `type` has no version)", {
      const: cloudEventType(type),
    }),
    ce_dataschema: header("the payload's JSON Schema ($id of docs/schemas/<type>.v<n>.json)", { const: dataSchemaUri(type) }),
    ce_source: header('CloudEvents source', { const: '/settle/orders' }),
    ce_subject: header('the order id (= the key)', { format: 'uuid' }),
    ce_time: header('when the transition committed (ISO 8601)', { format: 'date-time' }),
    orderVersion: header('the order version after the change', { pattern: '^[1-9][0-9]*$', examples: ['5'] }),
    orderNumber: header('the order number', { examples: ['BM-261125-7KQ2M9XD'] }),
    actorRole: header('the role of who made the change', { enum: ['user', 'merchant', 'compliance', 'system'] }),
    ce_traceparent: header(
      'optional: CloudEvents distributed-tracing extension: the W3C traceparent of the request or job that made the change (absent on re-published messages)',
      {
        pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
        examples: ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
      },
    ),
    ce_tracestate: header('optional: the W3C tracestate that came with ce_traceparent'),
    traceparent: header('optional: the same traceparent as ce_traceparent, as a plain header for tracing libraries that read that name'),
    commitLsn: header(
      'optional: the Postgres commit LSN of the transaction (WAL relay only; absent in poll mode and on re-published messages)',
      { pattern: '^[0-9A-F]+/[0-9A-F]+$', examples: ['0/1C3CFD8'] },
    ),
    'settle-republished': header(
      'optional: set on a message re-sent by `settle-ops outbox republish` (its audit id); the event is one already published, so an inbox drops it if it has it',
    ),
    'settle-replay-of': header("optional: set on a dead letter re-published by `settle-ops dlq replay`: the dead letter's id"),
    'settle-replay-count': header('optional: how many times this message was replayed'),
    'settle-replay-channel': header('optional: webhook, when only a webhook delivery is retried'),
    'settle-replay-webhook-endpoint-id': header('optional: the endpoint a webhook replay retries'),
  };
  const required = [
    'id',
    'content-type',
    'ce_specversion',
    'ce_id',
    'ce_type',
    'ce_dataschema',
    'ce_source',
    'ce_subject',
    'ce_time',
    'orderVersion',
    'orderNumber',
    'actorRole',
  ];
  return { type: 'object', properties, required };
}

const DEAD_LETTER_HEADERS: [string, string, boolean][] = [
  ['dlt-original-topic', 'topic it came from', true],
  ['dlt-original-partition', 'partition it came from', true],
  ['dlt-original-offset', 'offset it had', true],
  ['dlt-original-timestamp', 'its original timestamp (ms)', true],
  ['dlt-original-consumer-group', 'the consumer group that gave up', true],
  ['dlt-exception-class', 'error class', true],
  ['dlt-exception-message', 'error message', true],
  ['dlt-exception-stacktrace', 'stack trace (at most 8000 characters)', true],
  ['dlt-attempts', 'attempts made', true],
  ['dlt-event-id', 'eventId, when the payload had one', false],
  ['dlt-channel', 'which channel failed: socket (the event itself) or webhook (a receiver rejected it)', true],
  ['dlt-webhook-endpoint-id', 'for webhook dead letters: the endpoint that rejected the delivery', false],
];

/** A JSON Schema for AsyncAPI's default schema format (a superset of draft-07): the document names it, not `$schema`. */
function asyncApiSchema(schema: Schema): Schema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

const jsonSchemaOf = (schema: z.ZodType): Schema =>
  asyncApiSchema(z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any', io: 'output' }));

const messageId = (type: EventType): string => schemaName(type).replaceAll('.', '_');

/**
 * The AsyncAPI 3.0 description of what downstream services read (a public API): the order events topic, one
 * message per event type with its headers and payload schema (the published docs/schemas), the dead-letter topic,
 * and the notifier's socket.io `notification` and `book` events — all generated from the zod schemas.
 */
export function asyncApiDocument(options: { topic?: string } = {}): Record<string, unknown> {
  const topic = options.topic ?? 'settle.order.events';
  const messages: Record<string, Schema> = {};
  const schemas: Record<string, Schema> = {};
  for (const type of EVENT_TYPES) {
    schemas[messageId(type)] = asyncApiSchema(eventJsonSchema(type));
    messages[messageId(type)] = {
      name: type,
      title: cloudEventType(type),
      summary: `${type}, schema ${dataSchemaUri(type)}`,
      contentType: 'application/json',
      headers: orderEventHeaders(type),
      payload: { $ref: `#/components/schemas/${messageId(type)}` },
      bindings: {
        kafka: {
          key: { type: 'string', format: 'uuid', description: "the order id: one order's events share a partition and keep their order" },
          bindingVersion: '0.5.0',
        },
      },
    };
  }
  messages['DeadLetter'] = {
    name: 'DeadLetter',
    title: 'A message that failed permanently',
    summary: 'the original key, value and headers, plus dlt-* headers',
    headers: {
      type: 'object',
      properties: Object.fromEntries(DEAD_LETTER_HEADERS.map(([name, description]) => [name, header(description)])),
      required: DEAD_LETTER_HEADERS.filter(([, , required]) => required).map(([name]) => name),
    },
    payload: { description: 'the original message value, unchanged' },
  };
  messages['Notification'] = {
    name: 'notification',
    title: 'A private notification (socket.io event `notification`, acknowledged by the client)',
    payload: jsonSchemaOf(notificationPayload),
  };
  messages['Book'] = {
    name: 'book',
    title: "A public order-book delta (socket.io event `book` in the merchants' book room)",
    payload: jsonSchemaOf(bookPayload),
  };
  const ref = (kind: string, name: string) => ({ $ref: `#/${kind}/${name}` });
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Settle order events',
      version: '1.0.0',
      description: [
        'Every order transition, published by the relay from the transactional outbox (Postgres WAL → Kafka).',
        'Delivery is at-least-once: consumers de-duplicate on (orderId, orderVersion) and drop anything at or below',
        "the version they already processed. The key is the order id, so one order's events keep their order within",
        'a partition. ce_type carries the schema version (settle.order.completed.v1); a change an existing consumer',
        'could not read gets a new version, additive changes keep it. See docs/integrating.md.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: { host: 'localhost:9092', protocol: 'kafka', description: 'the Kafka cluster (KAFKA_BROKERS)' },
      notifier: {
        host: 'localhost:3001',
        protocol: 'ws',
        pathname: '/socket.io',
        description: "the notifier's socket.io endpoint (NOTIFIER_PORT); handshake auth { token, lastSeq }",
      },
    },
    channels: {
      orderEvents: {
        address: topic,
        description: 'One message per order transition (order_events row), key = order id, CloudEvents binary-mode headers.',
        servers: [ref('servers', 'kafka')],
        messages: Object.fromEntries(EVENT_TYPES.map((type) => [messageId(type), ref('components/messages', messageId(type))])),
      },
      deadLetters: {
        address: `${topic}.dlt`,
        description:
          'Messages a consumer could not process (schema-invalid, unknown type, receiver 4xx, or permanently failing), with the original bytes and dlt-* headers.',
        servers: [ref('servers', 'kafka')],
        messages: { deadLetter: ref('components/messages', 'DeadLetter') },
      },
      notifications: {
        address: 'notification',
        description: "socket.io event to a recipient's sockets: its private notifications in seq order, replayed after lastSeq on connect.",
        servers: [ref('servers', 'notifier')],
        messages: { notification: ref('components/messages', 'Notification') },
      },
      book: {
        address: 'book',
        description: "socket.io event to the merchants' book room: public order-book deltas with a book-wide bookSeq.",
        servers: [ref('servers', 'notifier')],
        messages: { book: ref('components/messages', 'Book') },
      },
    },
    operations: {
      receiveOrderEvents: {
        action: 'receive',
        channel: ref('channels', 'orderEvents'),
        summary: 'Downstream services subscribe to order events.',
      },
      receiveDeadLetters: {
        action: 'receive',
        channel: ref('channels', 'deadLetters'),
        summary: 'Operators inspect and replay dead letters (settle-ops dlq).',
      },
      receiveNotifications: {
        action: 'receive',
        channel: ref('channels', 'notifications'),
        summary: 'Merchant UIs and users receive their notifications.',
      },
      receiveBook: { action: 'receive', channel: ref('channels', 'book'), summary: 'Merchants receive order-book deltas.' },
    },
    components: { schemas, messages },
  };
}
