/**
 * The consumer every contender is measured through: one kafkajs consumer group (in a worker thread,
 * visibility-worker.ts) reading the contenders' `order` topics as they are written. A message's latency is taken from
 * the commit of its row (bench/relay/load.ts records it by `seq`): to the broker's append time (the topics use
 * LogAppendTime, so that is when Kafka took it: the ack) and to the moment the consumer has it (commit → visible
 * downstream).
 */
import { Worker } from 'node:worker_threads';
import type { Arrival } from './visibility-worker';

export interface LatencyWindow {
  /**
   * Record batches the messages came in: a producer writes one per partition per produce request, and each is one
   * append for the broker, so this is what the broker's work per event follows.
   */
  recordBatches: number;
  /** ms from commit to the broker's append, one per message. */
  toAck: number[];
  /** ms from commit to this consumer, one per message. */
  toVisible: number[];
}

export class Visibility {
  private readonly commits = new Map<number, number>();
  /** Messages that arrived before this thread heard their commit answered (a busy event loop can order it so). */
  private readonly early = new Map<number, Arrival>();
  private window: LatencyWindow | null = null;
  private readonly batches = new Set<string>();
  private seen = 0;

  private constructor(private readonly worker: Worker) {}

  /** Starts the consumer on `topics` (from their end) and waits until its group has its partitions. */
  static async start(brokers: string[], topics: string[]): Promise<Visibility> {
    const worker = new Worker(new URL('./visibility-worker.ts', import.meta.url), { workerData: { brokers, topics } });
    const visibility = new Visibility(worker);
    const joined = new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (message: { type: string; arrivals?: Arrival[] }) => {
        if (message.type === 'joined') resolve();
        for (const arrival of message.arrivals ?? []) visibility.saw(arrival);
      });
    });
    await joined;
    return visibility;
  }

  /** Remembers when `seq` committed (or counts it now, when its message is already here). */
  committed = (seq: number, atMs: number): void => {
    const arrived = this.early.get(seq);
    if (arrived === undefined) {
      this.commits.set(seq, atMs);
      return;
    }
    this.early.delete(seq);
    this.record(atMs, arrived);
  };

  /** Starts collecting the latency of every message from here on. */
  open(): void {
    this.window = { recordBatches: 0, toAck: [], toVisible: [] };
    this.batches.clear();
    this.seen = 0;
  }

  /** Messages seen since `open`. */
  get count(): number {
    return this.seen;
  }

  /** Stops collecting and returns what was collected. */
  close(): LatencyWindow {
    const window = this.window ?? { recordBatches: 0, toAck: [], toVisible: [] };
    window.recordBatches = this.batches.size;
    this.window = null;
    this.commits.clear();
    this.early.clear();
    return window;
  }

  async stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) =>
      this.worker.on('message', (message: { type: string }) => {
        if (message.type === 'stopped') resolve();
      }),
    );
    this.worker.postMessage({ type: 'stop' });
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    await this.worker.terminate();
  }

  private saw(arrival: Arrival): void {
    if (this.window === null) return;
    this.batches.add(arrival.recordBatch);
    const committed = this.commits.get(arrival.seq);
    if (committed === undefined) {
      // Not committed as far as this thread knows yet; or counted already (at-least-once: a re-sent message counts
      // once, at its first arrival), and then no commit will come for it.
      if (!this.early.has(arrival.seq)) this.early.set(arrival.seq, arrival);
      return;
    }
    this.commits.delete(arrival.seq);
    this.record(committed, arrival);
  }

  private record(committedMs: number, arrival: Arrival): void {
    this.seen += 1;
    this.window?.toAck.push(Math.max(0, arrival.appendedMs - committedMs));
    this.window?.toVisible.push(Math.max(0, arrival.seenMs - committedMs));
  }
}

/** p50 and p99 of `values` (exact, from every sample). */
export function percentiles(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}
