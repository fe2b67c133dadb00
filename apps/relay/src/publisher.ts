import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { kafkaError, RelayError } from './errors';
import type { OutboundRecord } from './outbox-message';

export interface PublisherOptions {
  /** A send not acknowledged within this is abandoned (the producer is then discarded). */
  sendTimeoutMs: number;
}

/**
 * One idempotent kafkajs producer (acks -1, one request in flight: kafkajs assigns idempotent sequence numbers
 * per request and concurrent sends break them, tulios/kafkajs#598). A publisher whose send failed is never
 * reused: the caller closes it and connects a fresh one, so a new producer id starts clean sequences instead of
 * guessing what the broker kept.
 */
export class Publisher {
  private sending = false;

  private constructor(
    private readonly producer: Producer,
    private readonly options: PublisherOptions,
  ) {}

  /** Connects a fresh idempotent producer. */
  static async connect(kafka: Kafka, options: PublisherOptions): Promise<Publisher> {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // murmur2 like the Java client, so a key lands on the same partition whoever produces it.
      createPartitioner: Partitioners.DefaultPartitioner,
      // Bounded on purpose: after the last retry the relay restarts from the slot with a new producer. With
      // kafkajs's unbounded default a send outlives its producer's disconnect() and reconnects by itself.
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2_000 },
    });
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw kafkaError(error, 'connecting the Kafka producer');
    }
    return new Publisher(producer, options);
  }

  /** Sends `records` in one produce request and resolves once Kafka acknowledged all of them (acks -1). */
  async publish(records: OutboundRecord[]): Promise<void> {
    if (this.sending) throw new Error('Publisher.publish: one send at a time');
    this.sending = true;
    const byTopic = new Map<string, OutboundRecord['message'][]>();
    for (const record of records) {
      const messages = byTopic.get(record.topic);
      if (messages === undefined) byTopic.set(record.topic, [record.message]);
      else messages.push(record.message);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RelayError(
              'KAFKA_UNAVAILABLE',
              `Kafka did not acknowledge ${records.length} events within ${this.options.sendTimeoutMs} ms`,
            ),
          ),
        this.options.sendTimeoutMs,
      );
    });
    try {
      const send = this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      // The losing promise of the race must not become an unhandled rejection.
      send.catch(() => undefined);
      await Promise.race([send, timeout]);
    } catch (error) {
      throw kafkaError(error, `publishing ${records.length} events`);
    } finally {
      clearTimeout(timer);
      this.sending = false;
    }
  }

  /** Disconnects the producer; never throws. */
  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}
