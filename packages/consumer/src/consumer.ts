import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type pg from 'pg';
import { Registry } from 'prom-client';
import type { TypedOrderEvent } from '@settle/contracts';
import { deadLetterHeaders, headersAsText } from '@settle/kafka';
import { DEFAULT_RETRY, retryDelay, sleep, type RetryPolicy } from './backoff';
import { isPermanent } from './errors';
import { SQL } from './inbox';
import { createMetrics, type ConsumerMetrics } from './metrics';
import { parseOrderEventMessage } from './parse';

/** What the handler gets beside the event: the transaction its writes join, and where the event came from. */
export interface EventContext {
  /** The inbox row is written on this client in an open transaction: write with it, do not commit or release it. */
  client: pg.PoolClient;
  headers: Record<string, string>;
  /** Sent again by `settle-ops outbox republish`. */
  republished: boolean;
  topic: string;
  partition: number;
  offset: string;
  /** 1 for the first try. */
  attempt: number;
}

/** Handles one event; throw PermanentError when retrying cannot help, anything else to be retried. */
export type EventHandler = (event: TypedOrderEvent, context: EventContext) => Promise<void>;

export interface OrderEventConsumerOptions {
  kafka: Kafka;
  /** The consumer group, also the inbox's `consumer` column. */
  groupId: string;
  /** @default 'settle.order.events' */
  topic?: string;
  /** @default `<topic>.dlt` */
  deadLetterTopic?: string;
  /** The caller's database: the inbox lives here, in the handler's transaction. */
  pool: pg.Pool;
  handler: EventHandler;
  /** @default DEFAULT_RETRY */
  retry?: Partial<RetryPolicy>;
  /** Partitions handled at once (each in order). @default 3 */
  partitionsConsumedConcurrently?: number;
  /** Read the topic from its start when the group has no committed offset. @default true */
  fromBeginning?: boolean;
  /** Where the metrics are registered. @default a new Registry */
  registry?: Registry;
  /** Errors the kit survives (a retried attempt, a dead letter) are reported here. @default none */
  onError?: (error: unknown, where: { orderId?: string; offset: string; attempt: number }) => void;
}

export interface OrderEventConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Ends the hold on an order after its dead letter was looked at: `retry` hands the dead event to the handler
   * again (when it was a valid event), `skip` drops it; then the held events follow in version order, all in one
   * transaction. If one fails the order stays blocked and the error is thrown.
   */
  resolve(orderId: string, action: 'retry' | 'skip'): Promise<{ handled: number }>;
  /** Orders whose events are held behind a dead letter. */
  blocked(): Promise<{ orderId: string; reason: string; blockedAt: Date }[]>;
  registry: Registry;
  metrics: ConsumerMetrics;
}

interface Source {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

type Outcome = 'done' | 'duplicate' | 'held';

/** A kafkajs consumer of the order events topic with an inbox, per-order order, retries and dead letters. */
export function createOrderEventConsumer(options: OrderEventConsumerOptions): OrderEventConsumer {
  const topic = options.topic ?? 'settle.order.events';
  const deadLetterTopic = options.deadLetterTopic ?? `${topic}.dlt`;
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const group = options.groupId;
  const registry = options.registry ?? new Registry();
  const metrics = createMetrics(registry);
  const stopping = new AbortController();
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;

  async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await options.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** One attempt: claim the (order, version) in the inbox and run the handler in the same transaction. */
  function attempt(event: TypedOrderEvent, context: Omit<EventContext, 'client'>): Promise<Outcome> {
    return inTransaction(async (client) => {
      const key = [group, event.orderId];
      if ((await client.query(SQL.isBlocked, key)).rowCount !== 0) {
        await client.query(SQL.keep, [
          ...key,
          event.orderVersion,
          event.eventId,
          event.type,
          'held',
          JSON.stringify(event),
          JSON.stringify(context.headers),
          null,
        ]);
        return 'held';
      }
      if ((await client.query(SQL.claim, [...key, event.orderVersion, event.eventId, event.type])).rowCount === 0) return 'duplicate';
      await options.handler(event, { ...context, client });
      return 'done';
    });
  }

  async function deadLetter(
    source: Source,
    error: unknown,
    attempts: number,
    event: TypedOrderEvent | undefined,
    reason: 'invalid' | 'permanent' | 'exhausted',
  ): Promise<void> {
    const failure = error instanceof Error ? error : new Error(String(error));
    const headers = headersAsText(source.message.headers);
    await producer!.send({
      topic: deadLetterTopic,
      messages: [
        {
          key: source.message.key,
          value: source.message.value,
          headers: deadLetterHeaders(
            {
              originalTopic: source.topic,
              originalPartition: source.partition,
              originalOffset: source.message.offset,
              originalTimestamp: source.message.timestamp,
              consumerGroup: group,
              exceptionClass: failure.name,
              exceptionMessage: failure.message,
              exceptionStacktrace: failure.stack ?? '',
              attempts,
              eventId: event?.eventId ?? headers['id'],
              channel: 'socket',
            },
            source.message.headers,
          ),
        },
      ],
    });
    // The order is known from the event, or from the key of a message too broken to parse.
    const orderId = event?.orderId ?? uuidOrUndefined(source.message.key?.toString('utf8'));
    if (orderId !== undefined) {
      await inTransaction(async (client) => {
        await client.query(SQL.block, [
          group,
          orderId,
          `${failure.name}: ${failure.message}`.slice(0, 2000),
          deadLetterTopic,
          source.partition,
          source.message.offset,
        ]);
        if (event !== undefined) {
          await client.query(SQL.keep, [
            group,
            orderId,
            event.orderVersion,
            event.eventId,
            event.type,
            'dead',
            JSON.stringify(event),
            JSON.stringify(headers),
            failure.message.slice(0, 2000),
          ]);
        }
      });
    }
    metrics.failed.inc({ group, reason });
  }

  /** A message, to its end: handled, dropped as a duplicate, held, or dead-lettered. Retries block its partition. */
  async function handle(source: Source, heartbeat: () => Promise<void>): Promise<boolean> {
    let parsed;
    try {
      parsed = parseOrderEventMessage(source.message);
    } catch (error) {
      options.onError?.(error, { offset: source.message.offset, attempt: 1 });
      await deadLetter(source, error, 1, undefined, 'invalid');
      return true;
    }
    const { event, headers, republished } = parsed;
    for (let attemptNo = 1; ; attemptNo += 1) {
      try {
        const outcome = await attempt(event, {
          headers,
          republished,
          topic: source.topic,
          partition: source.partition,
          offset: source.message.offset,
          attempt: attemptNo,
        });
        if (outcome === 'done') metrics.processed.inc({ group, type: event.type });
        else if (outcome === 'duplicate') metrics.duplicates.inc({ group });
        else metrics.held.inc({ group });
        return true;
      } catch (error) {
        options.onError?.(error, { orderId: event.orderId, offset: source.message.offset, attempt: attemptNo });
        if (isPermanent(error) || attemptNo >= retry.maxAttempts) {
          await deadLetter(source, error, attemptNo, event, isPermanent(error) ? 'permanent' : 'exhausted');
          return true;
        }
        metrics.retries.inc({ group });
        await sleep(retryDelay(attemptNo, retry), stopping.signal);
        if (stopping.signal.aborted) return false;
        await heartbeat();
      }
    }
  }

  return {
    registry,
    metrics,
    async start() {
      producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      consumer = options.kafka.consumer({ groupId: group, maxWaitTimeInMs: 200 });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
        eachBatch: async (payload) => {
          const { batch } = payload;
          const heartbeat = (): Promise<void> => payload.heartbeat();
          for (const message of batch.messages) {
            if (!payload.isRunning() || payload.isStale() || stopping.signal.aborted) return;
            const finished = await handle({ topic: batch.topic, partition: batch.partition, message }, heartbeat);
            if (!finished) return;
            payload.resolveOffset(message.offset);
            metrics.lag.set(
              { group, topic: batch.topic, partition: String(batch.partition) },
              Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(message.offset) - 1n)),
            );
            await payload.commitOffsetsIfNecessary();
            await heartbeat();
          }
        },
      });
    },
    async stop() {
      stopping.abort();
      await consumer?.disconnect();
      await producer?.disconnect();
    },
    async resolve(orderId, action) {
      return inTransaction(async (client) => {
        const key = [group, orderId];
        if ((await client.query(SQL.lockBlocked, key)).rowCount === 0) return { handled: 0 };
        const waiting = await client.query<{
          order_version: number;
          state: 'held' | 'dead';
          payload: TypedOrderEvent;
          headers: Record<string, string>;
        }>(SQL.waiting, key);
        let handled = 0;
        for (const row of waiting.rows) {
          if (row.state === 'dead' && action === 'skip') {
            await client.query(SQL.settle, [...key, row.order_version, 'skipped']);
            continue;
          }
          await options.handler(row.payload, {
            client,
            headers: row.headers,
            republished: row.headers['settle-republished'] !== undefined,
            topic,
            partition: -1,
            offset: '-1',
            attempt: 1,
          });
          await client.query(SQL.settle, [...key, row.order_version, 'done']);
          metrics.processed.inc({ group, type: row.payload.type });
          handled += 1;
        }
        await client.query(SQL.unblock, key);
        return { handled };
      });
    },
    async blocked() {
      const result = await options.pool.query<{ order_id: string; reason: string; blocked_at: Date }>(SQL.blocked, [group]);
      return result.rows.map((row) => ({ orderId: row.order_id, reason: row.reason, blockedAt: row.blocked_at }));
    },
  };
}

function uuidOrUndefined(text: string | undefined): string | undefined {
  return text !== undefined && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text) ? text : undefined;
}
