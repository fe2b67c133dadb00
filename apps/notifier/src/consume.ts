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

export interface PausingConsumerOptions {
  consumer: Consumer;
  topic: string;
  logger: Logger;
  backoff: BackoffPolicy;
  /** Messages handled per unit of work; offsets are resolved after each. @default 500 */
  chunkSize?: number;
  /**
   * Handled offsets are committed (in order, not awaited) at most this often, and when the consumer stops; 0 commits
   * after every chunk. @default 0
   */
  commitIntervalMs?: number;
  /**
   * Handles a chunk of one partition's messages. Resolve when everything they cause is durable (rows committed,
   * emits done, dead letters acknowledged by Kafka). Throw to retry the chunk later; permanent problems of single
   * messages are the handler's to dead-letter, so anything thrown here counts as transient.
   */
  handle: (messages: KafkaMessage[], context: { topic: string; partition: number }) => Promise<void>;
  onRetry?: (info: RetryInfo) => void;
  /**
   * Told the partition's lag (messages after the last handled one, up to the high watermark of the fetch) when a
   * batch arrives (`handled` 0) and after each handled chunk (`handled` its size): the notifier's progress metrics.
   */
  onProgress?: (info: { topic: string; partition: number; lag: number; handled: number }) => void;
  /** @default 3 */
  partitionsConsumedConcurrently?: number;
}

/**
 * Runs a kafkajs consumer that never skips a message: offsets are resolved and committed only after `handle`
 * succeeded; on a failure the partition is paused and resumed after an exponential backoff with jitter, and
 * fetching starts again at the first unhandled message (kafkajs fetches from the last resolved offset + 1).
 */
export async function runPausingConsumer(options: PausingConsumerOptions): Promise<{ stop(): Promise<void> }> {
  const { consumer, logger } = options;
  const chunkSize = options.chunkSize ?? 500;
  const commitIntervalMs = options.commitIntervalMs ?? 0;
  const failures = new Map<string, { offset: string; attempt: number }>();
  const timers = new Set<NodeJS.Timeout>();
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
  // After a rebalance, offsets still waiting for the interval are committed only for partitions this member kept:
  // the new owner of the others starts from their last commit and redoes the rest, writing nothing twice.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
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
    const topics = [...new Set(offsets.map((entry) => entry.topic))].map((topic) => ({
      topic,
      partitions: offsets.filter((entry) => entry.topic === topic).map(({ partition, offset }) => ({ partition, offset })),
    }));
    commits = commits
      .then(() => send({ topics }))
      .catch((error: unknown) => logger.warn({ err: error, offsets }, 'committing offsets failed; a redelivery will follow'));
    return commits;
  };

  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
    eachBatch: async (payload: EachBatchPayload) => {
      const { batch } = payload;
      const resolveOffset = (offset: string): void => payload.resolveOffset(offset);
      const heartbeat = (): Promise<void> => payload.heartbeat();
      const pause = (): (() => void) => payload.pause();
      const isRunning = (): boolean => payload.isRunning();
      const isStale = (): boolean => payload.isStale();
      commit = (offsets) => payload.commitOffsetsIfNecessary(offsets);
      const key = `${batch.topic}:${batch.partition}`;
      const lagAfter = (offset: string): number => Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(offset) - 1n));
      const head = batch.messages[0];
      if (head !== undefined)
        options.onProgress?.({ topic: batch.topic, partition: batch.partition, lag: lagAfter(head.offset) + 1, handled: 0 });
      for (let start = 0; start < batch.messages.length; start += chunkSize) {
        if (!isRunning() || isStale() || stopped) return;
        const chunk = batch.messages.slice(start, start + chunkSize);
        const first = chunk[0];
        const last = chunk[chunk.length - 1];
        if (first === undefined || last === undefined) return;
        try {
          await options.handle(chunk, { topic: batch.topic, partition: batch.partition });
        } catch (error) {
          const previous = failures.get(key);
          const attempt = previous !== undefined && previous.offset === first.offset ? previous.attempt + 1 : 1;
          failures.set(key, { offset: first.offset, attempt });
          const delayMs = backoffDelay(attempt, options.backoff);
          logger.warn(
            {
              err: error,
              topic: batch.topic,
              partition: batch.partition,
              offset: first.offset,
              attempt,
              delayMs,
            },
            'processing failed; pausing the partition and retrying with backoff',
          );
          options.onRetry?.({ topic: batch.topic, partition: batch.partition, offset: first.offset, attempt, delayMs, error });
          const resume = pause();
          const timer = setTimeout(() => {
            timers.delete(timer);
            if (!stopped) resume();
          }, delayMs);
          timers.add(timer);
          return;
        }
        failures.delete(key);
        resolveOffset(last.offset);
        options.onProgress?.({ topic: batch.topic, partition: batch.partition, lag: lagAfter(last.offset), handled: chunk.length });
        handled.set(key, { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() });
        if (commitIntervalMs === 0) void commitHandled();
        else commitTimer ??= setTimeout(() => void commitHandled(), commitIntervalMs);
        await heartbeat();
      }
    },
  });
  return {
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await commitHandled();
      await consumer.disconnect();
    },
  };
}
