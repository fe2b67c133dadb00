import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '@settle/kafka';
import { createLogger } from '@settle/observability';
import { sleep, testStack, waitFor } from '@settle/testkit';
import type { Admin, KafkaMessage, Producer } from 'kafkajs';
import { runPausingConsumer, type ChunkContext, type RetryInfo } from '../src/consume';
import { createTopics } from './support';

const MESSAGES = 300;
const CHUNK = 5;
/** The chunk with this offset fails its first attempt, once the chunks after it have been fetched and handed over. */
const FAILING = 100;

describe('a consumer that hands over the next chunks before the previous ones are done', () => {
  const kafka = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'consume-test' });
  let topic: string;
  let producer: Producer;
  let admin: Admin;

  beforeAll(async () => {
    ({ events: topic = '' } = await createTopics('notifier-consume', [{ name: 'events', numPartitions: 1 }]));
    producer = kafka.producer();
    await producer.connect();
    admin = kafka.admin();
    await admin.connect();
    // Small messages, few to a fetch (maxBytesPerPartition below): many fetches, each handed over as it arrives.
    const messages = Array.from({ length: MESSAGES }, (_, index) => ({ key: 'k', value: String(index).padStart(40, '0') }));
    await producer.send({ topic, acks: -1, messages });
  });

  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('a chunk failing while later chunks are in hand is retried from its own offset: every message written once, in order', async () => {
    const groupId = `consume-test-${Date.now().toString(36)}`;
    const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 512, maxWaitTimeInMs: 50 });
    await consumer.connect();
    const committed = async (): Promise<number> =>
      Number((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions[0]?.offset ?? '-1');

    // A writer that writes chunks one at a time in the order they were handed over and keeps the contract of
    // `handle`: once a chunk failed, no later chunk of its sequence is written.
    const written: number[] = [];
    const handed: number[] = [];
    const failedSequences = new WeakSet<AbortSignal>();
    const retries: RetryInfo[] = [];
    const committedWhileFailing: number[] = [];
    let failuresLeft = 1;
    let failedChunk: number[] = [];
    let writer: Promise<void> = Promise.resolve();
    const handle = (messages: KafkaMessage[], { signal }: ChunkContext): Promise<void> => {
      const offsets = messages.map((message) => Number(message.offset));
      handed.push(...offsets);
      const work = writer.then(async () => {
        if (signal.aborted || failedSequences.has(signal)) throw new Error('abandoned: an earlier chunk failed');
        if (offsets.includes(FAILING) && failuresLeft > 0) {
          const last = offsets[offsets.length - 1] ?? FAILING;
          await waitFor(() => handed.some((offset) => offset > last + CHUNK), 'a later fetch handed over');
          failuresLeft -= 1;
          failedChunk = offsets;
          failedSequences.add(signal);
          throw new Error('a transient failure');
        }
        await sleep(1);
        written.push(...offsets);
      });
      writer = work.catch(() => undefined);
      return work;
    };

    const stream = await runPausingConsumer({
      consumer,
      topic,
      logger: createLogger('consume-test', 'error'),
      backoff: { baseMs: 500, factor: 2, capMs: 1_000, jitter: 0 },
      chunkSize: CHUNK,
      maxInFlightMessages: 60,
      onRetry: (info) => {
        retries.push(info);
        void committed().then((offset) => committedWhileFailing.push(offset));
      },
      handle,
    });
    try {
      await waitFor(() => written.length >= MESSAGES, 'every message written', 30_000);
      await waitFor(async () => (await committed()) === MESSAGES, 'the last offset committed');
    } finally {
      await stream.stop();
    }

    const [failedFirst = -1] = failedChunk;
    const failedLast = failedChunk[failedChunk.length - 1] ?? -1;
    expect(retries.map(({ offset, attempt }) => [offset, attempt])).toEqual([[String(failedFirst), 1]]);
    // Chunks beyond the failing one were handed over before it failed, and handed over again after it.
    expect(handed.filter((offset) => offset === failedLast + CHUNK)).toHaveLength(2);
    expect(committedWhileFailing).toHaveLength(1);
    expect(committedWhileFailing.every((offset) => offset <= failedFirst)).toBe(true);
    expect(written).toEqual(Array.from({ length: MESSAGES }, (_, index) => index));
  });
});
