/**
 * The consumer side of bench/relay/visibility.ts, in a worker thread of its own so that the bench's database writers
 * (thousands of queries a second on the main thread) do not delay it: it reads the contenders' `order` topics and
 * posts, every few milliseconds, each message's seq, broker append time, arrival time and record batch.
 */
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { createKafka } from '@settle/kafka';
import { seqOf } from './load';

export interface Arrival {
  seq: number;
  appendedMs: number;
  seenMs: number;
  /** topic/partition/first offset of the record batch the message came in. */
  recordBatch: string;
}

const { brokers, topics } = workerData as { brokers: string[]; topics: string[] };
const port = parentPort;
if (port === null) throw new Error('visibility-worker runs as a worker thread');

const kafka = createKafka({ brokers, clientId: 'relay-bench-consumer' });
const consumer = kafka.consumer({ groupId: `relay-bench-${randomUUID()}`, maxWaitTimeInMs: 1_000, sessionTimeout: 30_000 });
let arrivals: Arrival[] = [];
const flush = setInterval(() => {
  if (arrivals.length === 0) return;
  port.postMessage({ type: 'arrivals', arrivals });
  arrivals = [];
}, 5);

port.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return;
  clearInterval(flush);
  void consumer.disconnect().finally(() => port.postMessage({ type: 'stopped' }));
});

await consumer.connect();
await consumer.subscribe({ topics, fromBeginning: false });
consumer.on(consumer.events.GROUP_JOIN, () => port.postMessage({ type: 'joined' }));
await consumer.run({
  // No offset commits: the group is new in every run and reads from the end. kafkajs commits after every batch it
  // hands over whatever autoCommitInterval says (runner.js), which made OffsetCommit requests 27-36 % of the broker's
  // Java samples in every contender's steady window (JFR, 2026-12-07), a cost of the measuring consumer, not of the
  // contender.
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    const seenMs = Date.now();
    for (const message of batch.messages) {
      const seq = seqOf(message.value);
      if (seq === undefined) continue;
      // kafkajs keeps the record batch a message was decoded from (not in its typings).
      const first = (message as { batchContext?: { firstOffset?: string } }).batchContext?.firstOffset;
      arrivals.push({ seq, appendedMs: Number(message.timestamp), seenMs, recordBatch: `${batch.topic}/${batch.partition}/${first}` });
    }
  },
});
