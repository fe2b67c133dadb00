import { orderEvent } from './orders';
import { z } from './zod';

const header = (description: string, example?: string) => ({ type: 'string', description, ...(example !== undefined ? { examples: [example] } : {}) });

/**
 * The AsyncAPI 3.0 description of the Kafka contract downstream services read (a public API): the order
 * events topic and its dead-letter topic, generated from the same zod schema the producers and consumers use.
 */
export function asyncApiDocument(options: { topic?: string } = {}): Record<string, unknown> {
  const topic = options.topic ?? 'settle.order.events';
  const eventSchema = z.toJSONSchema(orderEvent, { target: 'draft-2020-12', unrepresentable: 'any' });
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Settle order events',
      version: '1.0.0',
      description: [
        'Every order transition, published by the relay from the transactional outbox (Postgres WAL → Kafka).',
        'Delivery is at-least-once: consumers de-duplicate on (orderId, orderVersion) and drop anything at or below',
        'the version they already processed. The key is the order id, so one order\'s events keep their order within',
        'a partition. Contract changes only add fields; nothing is renamed.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    channels: {
      orderEvents: {
        address: topic,
        description: 'One message per order transition (order_events row), key = order id.',
        messages: { orderEvent: { $ref: '#/components/messages/OrderEvent' } },
      },
      deadLetters: {
        address: `${topic}.dlt`,
        description: 'Messages a consumer could not process (schema-invalid, unknown type or order, receiver 4xx), with the original bytes and dlt-* headers.',
        messages: { deadLetter: { $ref: '#/components/messages/DeadLetter' } },
      },
    },
    operations: {
      receiveOrderEvents: { action: 'receive', channel: { $ref: '#/channels/orderEvents' }, summary: 'Downstream services subscribe to order events.' },
      receiveDeadLetters: { action: 'receive', channel: { $ref: '#/channels/deadLetters' }, summary: 'Operators inspect and replay dead letters (settle-ops dlq).' },
    },
    components: {
      messages: {
        OrderEvent: {
          name: 'OrderEvent',
          title: 'An order transition',
          contentType: 'application/json',
          headers: {
            type: 'object',
            properties: {
              id: header('outbox row id (= eventId)'),
              ce_specversion: header('CloudEvents spec version', '1.0'),
              ce_id: header('CloudEvents id (= eventId)'),
              ce_type: header('the event type', 'order.completed'),
              ce_source: header('CloudEvents source', '/settle/orders'),
              ce_subject: header('the order id'),
              ce_time: header('when the transition committed (ISO-8601)'),
              orderVersion: header('the order version after the change', '5'),
              commitLsn: header('the Postgres commit LSN of the transaction (WAL relay only)', '0/1C3CFD8'),
              'content-type': header('always application/json', 'application/json'),
              'settle-replay-of': header('present on a replay by settle-ops: the dead letter it re-publishes'),
              'settle-replay-count': header('present on a replay: how many times this message was replayed'),
              'settle-replay-channel': header('present on a webhook replay: webhook'),
              'settle-replay-webhook-endpoint-id': header('present on a webhook replay: the endpoint to retry'),
            },
          },
          payload: eventSchema,
        },
        DeadLetter: {
          name: 'DeadLetter',
          title: 'A message that failed permanently',
          headers: {
            type: 'object',
            properties: Object.fromEntries(
              [
                ['dlt-original-topic', 'topic it came from'],
                ['dlt-original-partition', 'partition it came from'],
                ['dlt-original-offset', 'offset it had'],
                ['dlt-original-timestamp', 'its original timestamp (ms)'],
                ['dlt-original-consumer-group', 'the consumer group that gave up'],
                ['dlt-exception-class', 'error class'],
                ['dlt-exception-message', 'error message'],
                ['dlt-exception-stacktrace', 'stack trace'],
                ['dlt-attempts', 'attempts made'],
                ['dlt-event-id', 'eventId, when the payload had one'],
                ['dlt-channel', 'which channel failed: socket (the event itself) or webhook (a receiver rejected it)'],
                ['dlt-webhook-endpoint-id', 'for webhook dead letters: the endpoint that rejected the delivery'],
              ].map(([name, description]) => [name, header(description as string)]),
            ),
          },
          payload: { description: 'the original message value, unchanged' },
        },
      },
    },
  };
}
