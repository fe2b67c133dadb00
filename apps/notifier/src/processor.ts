import type { BookPayload, NotificationPayload } from '@settle/contracts';
import { recipientKey } from '@settle/domain';
import {
  enqueueWebhookDeliveries,
  eventContext,
  inTransaction,
  markBookEventsEmitted,
  resetDeadWebhookDelivery,
  storeBookEvents,
  storeNotifications,
  type Pool,
  type Queryable,
  type WebhookEventInput,
} from '@settle/db';
import { headersAsText, headerText, REPLAY_HEADERS, traceparentOf } from '@settle/kafka';
import { traceIdOf, type Logger, type Tracing } from '@settle/observability';
import type { KafkaMessage, Producer } from 'kafkajs';
import type { ChunkContext } from './consume';
import { publishDeadLetters, type DeadLetter } from './dead-letters';
import { describe } from './errors';
import type { NotifierMetrics } from './metrics';
import { bookOf, prepareChunk, type PreparedChunk, type PreparedEvent } from './prepare';
import type { SocketHub } from './sockets';

export interface ProcessorOptions {
  pool: Pool;
  producer: Producer;
  hub: SocketHub;
  metrics: NotifierMetrics;
  logger: Logger;
  /** Spans of event processing (OTEL_TRACES_EXPORTER=otlp). @default idOnlyTracing (no spans) */
  tracing?: Tracing;
  groupId: string;
  /** Called after a chunk committed new webhook deliveries. */
  onWebhooksQueued?: () => void;
}

type Handler = (messages: KafkaMessage[], context: ChunkContext) => Promise<void>;

interface Job {
  chunk: PreparedChunk;
  /** How many messages the chunk had. */
  size: number;
  /** The chunk's partition sequence (consume.ts): after a failure in it, none of its later chunks is written. */
  signal: AbortSignal;
  resolve(): void;
  reject(error: unknown): void;
}

/** A chunk not written because an earlier chunk of its partition failed; the partition is read again from there. */
export class AbandonedChunkError extends Error {
  override readonly name = 'AbandonedChunkError';
}

/** Most messages one transaction takes from the queue (whole chunks; a chunk is ≤ 500). */
const GROUP_MESSAGES = 4_000;

/**
 * Handles chunks of partitions: permanent failures go to the DLT, every valid event is written in a transaction
 * (notifications per recipient, the book event once, webhook deliveries), then emitted. Chunks that arrive while a
 * transaction runs are written together by the next one (group commit): one writer per process takes the
 * recipients' counter locks, so partitions never wait for each other's locks, and a burst costs few transactions.
 * Throws on anything transient, before or after the commit: the retry writes nothing twice and re-emits only what
 * no client acknowledged yet. A group that fails is retried chunk by chunk, so one chunk's fault fails only it.
 */
export function createProcessor(options: ProcessorOptions): Handler {
  let queue: Job[] = [];
  let running = false;
  // Sequences with a failed chunk, marked at once (the consumer hears of the failure a microtask later), so the
  // writer never writes a later chunk of that partition before the failed one is retried.
  const failed = new WeakSet<AbortSignal>();
  const abandoned = (job: Job): boolean => {
    if (!job.signal.aborted && !failed.has(job.signal)) return false;
    job.reject(new AbandonedChunkError('an earlier chunk of this partition failed'));
    return true;
  };
  const fail = (job: Job, error: unknown): void => {
    failed.add(job.signal);
    job.reject(error);
  };

  const take = (): Job[] => {
    queue = queue.filter((job) => !abandoned(job));
    let size = 0;
    let count = 0;
    while (count < queue.length && (count === 0 || size + (queue[count]?.size ?? 0) <= GROUP_MESSAGES)) {
      size += queue[count]?.size ?? 0;
      count += 1;
    }
    const jobs = queue.slice(0, count);
    queue = queue.slice(count);
    return jobs;
  };

  const run = async (): Promise<void> => {
    running = true;
    // The emits of a group run while the next group is written (the database and this process work at the same
    // time); they follow the previous group's emits, so each recipient still gets its seqs in order, and a
    // group's chunks resolve (their offsets get committed) only after their emits.
    let emitting: Promise<void> = Promise.resolve();
    try {
      for (;;) {
        while (queue.length > 0) {
          const jobs = take();
          if (jobs.length === 0) continue;
          let written: Written;
          try {
            written = await writeGroup(options, jobs);
          } catch (error) {
            await emitting;
            const [only] = jobs;
            if (only !== undefined && jobs.length === 1) {
              fail(only, error);
              continue;
            }
            for (const job of jobs) {
              if (abandoned(job)) continue;
              await writeGroup(options, [job])
                .then((alone) => emitGroup(options, alone))
                .then(
                  () => job.resolve(),
                  (error: unknown) => fail(job, error),
                );
            }
            continue;
          }
          emitting = emitting.then(() =>
            emitGroup(options, written).then(
              () => jobs.forEach((job) => job.resolve()),
              (error: unknown) => jobs.forEach((job) => fail(job, error)),
            ),
          );
        }
        await emitting;
        if (queue.length === 0) return;
      }
    } finally {
      running = false;
    }
  };

  return (messages, context) =>
    new Promise<void>((resolve, reject) => {
      // Parsed now, while the writer may be waiting on the database for the group before this one.
      queue.push({
        chunk: prepareChunk(messages, context, options.tracing),
        size: messages.length,
        signal: context.signal,
        resolve,
        reject,
      });
      if (!running) void run();
    });
}

type Written = Awaited<ReturnType<typeof writeGroup>>;

/**
 * Writes everything a group's events cause in one transaction. Most groups write only their notifications, in one
 * statement: that one runs without BEGIN and COMMIT (two round trips fewer; at a few events a second every event is a
 * group of its own).
 */
async function writeGroup(options: ProcessorOptions, jobs: Job[]) {
  const { pool } = options;
  const audiences: PreparedEvent[] = jobs.flatMap((job) => job.chunk.events);
  const poison = jobs.flatMap((job) => job.chunk.poison);
  // Nothing here reads the orders table: the event carries its order snapshot, and logical decoding can hand the
  // relay a committed transaction before other sessions see its rows, so "the order is not there" would turn a
  // valid event into a dead letter.
  const { webhookMerchants } = await eventContext(
    pool,
    audiences.flatMap(({ merchants }) => merchants),
  );
  const sourceOf = ({ item }: PreparedEvent): WebhookEventInput['source'] => ({
    topic: item.topic,
    partition: item.partition,
    offset: item.message.offset,
    timestamp: item.message.timestamp,
    key: item.message.key?.toString('utf8') ?? null,
    value: item.message.value ?? Buffer.alloc(0),
    headers: headersAsText(item.message.headers),
  });
  const webhookEvents: WebhookEventInput[] = audiences
    .map((prepared) => ({
      merchantIds: prepared.merchants.filter((merchantId) => webhookMerchants.has(merchantId)),
      eventId: prepared.item.event.eventId,
      orderId: prepared.item.event.orderId,
      eventType: prepared.item.event.type,
      payload: prepared.payload,
      source: sourceOf(prepared),
    }))
    .filter((event) => event.merchantIds.length > 0);
  // A replayed webhook dead letter: that delivery is sent again from attempt 1.
  const replayedWebhooks = audiences.flatMap((prepared) => {
    const { headers } = prepared.item.message;
    const endpoint = headerText(headers, REPLAY_HEADERS.webhookEndpoint);
    return headerText(headers, REPLAY_HEADERS.channel) === 'webhook' && endpoint !== undefined
      ? [{ endpoint, eventId: prepared.item.event.eventId, source: sourceOf(prepared) }]
      : [];
  });
  const bookInputs = audiences
    .filter(({ audience }) => audience.book)
    .map(({ item, traceparent }) => ({
      eventId: item.event.eventId,
      orderId: item.event.orderId,
      orderVersion: item.event.orderVersion,
      payload: bookOf(item.event, traceparent),
    }));
  const inputs = audiences.flatMap((prepared) => prepared.inputs);

  const write = async (db: Queryable) => {
    let queued = await enqueueWebhookDeliveries(db, webhookEvents);
    for (const { endpoint, eventId, source } of replayedWebhooks) {
      if (await resetDeadWebhookDelivery(db, endpoint, eventId, source)) queued += 1;
    }
    // The two writes that take shared locks (the book counter, the recipients' counters) come last, so the
    // locks are held only until the commit that follows.
    const book = await storeBookEvents(db, bookInputs);
    const stored = await storeNotifications(db, inputs);
    return { book, stored, audiences, queued };
  };
  const onlyNotifications = webhookEvents.length === 0 && replayedWebhooks.length === 0 && bookInputs.length === 0;
  const outcome = onlyNotifications ? await write(pool) : await inTransaction(pool, write);
  return { outcome, poison };
}

/** Emits slices between which the event loop turns: the next group's queries go out while this one emits. */
const EMIT_SLICE = 250;

/** After a group's commit: its dead letters (acknowledged by Kafka), then its book events and notifications. */
async function emitGroup(options: ProcessorOptions, { outcome, poison }: Written): Promise<void> {
  const { pool, producer, hub, metrics, logger } = options;

  const letters: DeadLetter[] = poison.map((item) => {
    const error = describe(item.error);
    return {
      key: item.message.key,
      value: item.message.value,
      headers: item.message.headers,
      info: {
        originalTopic: item.topic,
        originalPartition: item.partition,
        originalOffset: item.message.offset,
        originalTimestamp: item.message.timestamp,
        consumerGroup: options.groupId,
        exceptionClass: error.name,
        exceptionMessage: error.message,
        exceptionStacktrace: error.stack,
        attempts: 1,
        eventId: item.eventId,
        channel: 'socket',
      },
    };
  });
  for (const [topic, group] of groupBy(letters, (letter) => letter.info.originalTopic)) await publishDeadLetters(producer, topic, group);
  for (const item of poison) {
    metrics.deadLetters.inc({ channel: 'socket', reason: item.error.name });
    const traceId = traceIdOf(traceparentOf(item.message.headers));
    logger.warn(
      {
        topic: item.topic,
        partition: item.partition,
        offset: item.message.offset,
        eventId: item.eventId,
        ...(traceId !== undefined ? { traceId } : {}),
        reason: item.error.name,
        detail: item.error.message,
      },
      'event sent to the dead-letter topic',
    );
  }

  const toEmit = outcome.book.filter((entry) => !entry.emitted).sort((a, b) => a.bookSeq - b.bookSeq);
  for (const entry of toEmit) hub.emitBook({ ...(entry.payload as Omit<BookPayload, 'bookSeq'>), bookSeq: entry.bookSeq });
  await markBookEventsEmitted(
    pool,
    toEmit.map((entry) => entry.eventId),
  );

  for (const [index, row] of outcome.stored.entries()) {
    if (index > 0 && index % EMIT_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    if (!row.delivered) hub.emitNotification(row.recipient, row.seq, row.payload as Omit<NotificationPayload, 'seq'>);
  }
  const debug = logger.isLevelEnabled('debug');
  for (const { item, audience, traceparent, span, payload } of outcome.audiences) {
    hub.emitToOrderRoom(item.event.orderId, audience.recipients.map(recipientKey), payload);
    span?.end();
    if (debug)
      logger.debug(
        {
          eventId: item.event.eventId,
          orderId: item.event.orderId,
          type: item.event.type,
          traceId: traceIdOf(traceparent),
          recipients: audience.recipients.length,
        },
        'event delivered to screens',
      );
  }
  metrics.eventsProcessed.inc(outcome.audiences.length);
  if (outcome.queued > 0) options.onWebhooksQueued?.();
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group === undefined) groups.set(key(item), [item]);
    else group.push(item);
  }
  return groups;
}
