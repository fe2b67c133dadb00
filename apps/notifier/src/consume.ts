import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from '@settle/observability';
import { backoffDelay, type BackoffPolicy } from '@settle/backoff';

export interface RetryInfo {
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** What `handle` is told about a chunk besides its messages. */
export interface ChunkContext {
  topic: string;
  partition: number;
  /**
   * Shared by the chunks of the partition handed over since its last failure (or rebalance), in offset order; aborted
   * when one of them fails. A chunk whose signal is aborted, or one after a chunk with the same signal that failed,
   * must not be handled: the partition is read again from the first chunk that did not succeed.
   */
  signal: AbortSignal;
}

export interface PausingConsumerOptions {
  consumer: Consumer;
  topic: string;
  logger: Logger;
  backoff: BackoffPolicy;
  /** Messages handled per unit of work. @default 500 */
  chunkSize?: number;
  /**
   * Messages handed to `handle` and not yet done, per consumer, before the next chunk waits (a chunk is always handed
   * over when none is in hand). While they are in hand kafkajs fetches on. @default chunkSize
   */
  maxInFlightMessages?: number;
  /**
   * Handled offsets are committed (in order, not awaited) at most this often, and when the consumer stops; 0 commits
   * after every chunk. @default 0
   */
  commitIntervalMs?: number;
  /**
   * Handles a chunk of one partition's messages. Resolve when everything they cause is durable (rows committed,
   * emits done, dead letters acknowledged by Kafka). Throw to retry the chunk later; permanent problems of single
   * messages are the handler's to dead-letter, so anything thrown here counts as transient. Chunks of a partition are
   * handed over in offset order, the next before the previous is done: they must be handled in that order.
   */
  handle: (messages: KafkaMessage[], context: ChunkContext) => Promise<void>;
  onRetry?: (info: RetryInfo) => void;
  /**
   * Told the partition's lag (messages after the last handled one, up to the high watermark of the fetch) when a
   * batch arrives (`handled` 0) and after each handled chunk (`handled` its size): the notifier's progress metrics.
   */
  onProgress?: (info: { topic: string; partition: number; lag: number; handled: number }) => void;
  /** @default 3 */
  partitionsConsumedConcurrently?: number;
}

/** A chunk handed to `handle` and not yet confirmed. */
interface InFlight {
  first: string;
  last: string;
  size: number;
  highWatermark: string;
  done: boolean;
}

/** A partition's chunks in hand, oldest first, and the signal they share. */
interface Lane {
  topic: string;
  partition: number;
  controller: AbortController;
  chunks: InFlight[];
}

/**
 * Runs a kafkajs consumer that never skips a message. A chunk is handed to `handle` and the fetch goes on after it
 * (the next fetch overlaps its handling); its offset is committed only once it and every chunk before it on its
 * partition succeeded. On a failure the partition's later chunks in hand are abandoned (their signal aborted), the
 * partition is sought back to its first chunk that did not succeed, paused, and resumed after an exponential
 * backoff with jitter.
 */
export async function runPausingConsumer(options: PausingConsumerOptions): Promise<{ stop(): Promise<void> }> {
  const { consumer, logger, topic } = options;
  const chunkSize = options.chunkSize ?? 500;
  const maxInFlight = options.maxInFlightMessages ?? chunkSize;
  const commitIntervalMs = options.commitIntervalMs ?? 0;
  const failures = new Map<string, { offset: string; attempt: number }>();
  const timers = new Set<NodeJS.Timeout>();
  const lanes = new Map<string, Lane>();
  const pending = new Set<Promise<void>>();
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let stopped = false;
  // Offsets of handled chunks are committed in order but not waited for: the next fetch does not wait for the
  // broker's OffsetCommit answer. A commit that fails (a rebalance), or one a crash never sent, only means a
  // redelivery, which writes nothing twice; the next commit covers it.
  let commits: Promise<void> = Promise.resolve();
  const handled = new Map<string, { topic: string; partition: number; offset: string }>();
  let commitTimer: NodeJS.Timeout | undefined;
  // The batch payload's commit: the group's own, no retries (consumer.commitOffsets retries, and a retry landing
  // after a rebalance could move back an offset the partition's new owner has committed since).
  let commit: EachBatchPayload['commitOffsetsIfNecessary'] | undefined;
  // After a rebalance kafkajs reads each partition it kept from its last committed offset: the chunks in hand are
  // abandoned (those being handled finish; they write nothing twice). Offsets still waiting for the interval are
  // committed only for partitions this member kept: the new owner of the others starts from their last commit.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const lane of lanes.values()) lane.controller.abort();
    lanes.clear();
    for (const [key, entry] of handled) {
      if (!(payload.memberAssignment[entry.topic] ?? []).includes(entry.partition)) handled.delete(key);
    }
  });
  const commitHandled = (): Promise<void> => {
    clearTimeout(commitTimer);
    commitTimer = undefined;
    const send = commit;
    if (handled.size === 0 || send === undefined) return commits;
    const offsets = [...handled.values()];
    handled.clear();
    const topics = [...new Set(offsets.map((entry) => entry.topic))].map((name) => ({
      topic: name,
      partitions: offsets.filter((entry) => entry.topic === name).map(({ partition, offset }) => ({ partition, offset })),
    }));
    commits = commits
      .then(() => send({ topics }))
      .catch((error: unknown) => logger.warn({ err: error, offsets }, 'committing offsets failed; a redelivery will follow'));
    return commits;
  };

  const lagAfter = (highWatermark: string, offset: string): number => Math.max(0, Number(BigInt(highWatermark) - BigInt(offset) - 1n));

  /** A chunk succeeded: the partition's confirmed prefix is marked handled (committed with the next commit). */
  const succeeded = (lane: Lane, chunk: InFlight): void => {
    chunk.done = true;
    const key = `${lane.topic}:${lane.partition}`;
    let head = lane.chunks[0];
    while (head?.done === true) {
      lane.chunks.shift();
      failures.delete(key);
      options.onProgress?.({
        topic: lane.topic,
        partition: lane.partition,
        lag: lagAfter(head.highWatermark, head.last),
        handled: head.size,
      });
      handled.set(key, { topic: lane.topic, partition: lane.partition, offset: (BigInt(head.last) + 1n).toString() });
      head = lane.chunks[0];
    }
    if (commitIntervalMs === 0) void commitHandled();
    else commitTimer ??= setTimeout(() => void commitHandled(), commitIntervalMs);
  };

  /** A chunk failed: the partition is read again, after a backoff, from its first chunk that did not succeed. */
  const failed = (lane: Lane, error: unknown): void => {
    const key = `${lane.topic}:${lane.partition}`;
    lane.controller.abort();
    lanes.delete(key);
    const offset = lane.chunks[0]?.first;
    if (offset === undefined) return;
    const previous = failures.get(key);
    const attempt = previous !== undefined && previous.offset === offset ? previous.attempt + 1 : 1;
    failures.set(key, { offset, attempt });
    const delayMs = backoffDelay(attempt, options.backoff);
    const { topic: name, partition } = lane;
    logger.warn(
      { err: error, topic: name, partition, offset, attempt, delayMs },
      'processing failed; pausing the partition and retrying with backoff',
    );
    options.onRetry?.({ topic: name, partition, offset, attempt, delayMs, error });
    consumer.seek({ topic: name, partition, offset });
    consumer.pause([{ topic: name, partitions: [partition] }]);
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) consumer.resume([{ topic: name, partitions: [partition] }]);
    }, delayMs);
    timers.add(timer);
  };

  const handOver = (lane: Lane, messages: KafkaMessage[], chunk: InFlight): void => {
    lane.chunks.push(chunk);
    inFlight += chunk.size;
    const done = options
      .handle(messages, { topic: lane.topic, partition: lane.partition, signal: lane.controller.signal })
      .then(
        () => {
          if (!lane.controller.signal.aborted) succeeded(lane, chunk);
        },
        (error: unknown) => {
          if (!lane.controller.signal.aborted) failed(lane, error);
        },
      )
      .finally(() => {
        inFlight -= chunk.size;
        pending.delete(done);
        wake?.();
      });
    pending.add(done);
  };

  /** Waits until `size` more messages may be handed over. */
  const room = async (size: number): Promise<void> => {
    while (inFlight > 0 && inFlight + size > maxInFlight && !stopped) {
      await new Promise<void>((resolve) => {
        const previous = wake;
        wake = () => {
          wake = previous;
          resolve();
          previous?.();
        };
      });
    }
  };

  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
    eachBatch: async (payload: EachBatchPayload) => {
      const { batch } = payload;
      commit = (offsets) => payload.commitOffsetsIfNecessary(offsets);
      const key = `${batch.topic}:${batch.partition}`;
      const head = batch.messages[0];
      if (head !== undefined)
        options.onProgress?.({
          topic: batch.topic,
          partition: batch.partition,
          lag: lagAfter(batch.highWatermark, head.offset) + 1,
          handled: 0,
        });
      for (let start = 0; start < batch.messages.length; start += chunkSize) {
        const messages = batch.messages.slice(start, start + chunkSize);
        await room(messages.length);
        // A failure of this partition since the fetch seeks it back (isStale) and the batch is dropped.
        if (!payload.isRunning() || payload.isStale() || stopped) return;
        const first = messages[0];
        const last = messages[messages.length - 1];
        if (first === undefined || last === undefined) return;
        let lane = lanes.get(key);
        if (lane === undefined) {
          lane = { topic: batch.topic, partition: batch.partition, controller: new AbortController(), chunks: [] };
          lanes.set(key, lane);
        }
        // The next fetch reads on after this chunk; a failure seeks back to the first chunk not yet done.
        payload.resolveOffset(last.offset);
        handOver(lane, messages, {
          first: first.offset,
          last: last.offset,
          size: messages.length,
          highWatermark: batch.highWatermark,
          done: false,
        });
        await payload.heartbeat();
      }
    },
  });
  return {
    async stop() {
      stopped = true;
      wake?.();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...pending]);
      await commitHandled();
      await consumer.disconnect();
    },
  };
}
