import type { Kafka } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  /** @default 6 */
  numPartitions?: number;
  /** Topic-level settings (`message.timestamp.type` …); only applied when the topic is created. @default none */
  config?: Record<string, string>;
}

/** The dead-letter topic of `topic`. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlt`;
}

/**
 * Creates the topics that do not exist yet (idempotent, safe when several processes race to create them) and
 * waits until every partition has a leader, so a producer can write at once.
 * kafkajs's own `waitForLeaders` sometimes fails with "does not host this topic-partition" while the broker's
 * metadata catches up; polling the metadata ourselves rides that out. @default timeout 30 s
 */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[], timeoutMs = 30_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((spec) => !existing.has(spec.topic));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.numPartitions ?? 6,
          replicationFactor: 1,
          configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (error) {
      // Another process created one of them first: the wait below still checks every topic.
      if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: missing.map((spec) => spec.topic) });
        const ready = metadata.topics.every(
          (topic) => topic.partitions.length > 0 && topic.partitions.every((partition) => partition.leader >= 0),
        );
        if (ready) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline)
        throw new Error(`topics ${missing.map((spec) => spec.topic).join(', ')} have no leaders after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

/** The order events topic and its dead-letter topic. */
export function orderTopics(topic: string, numPartitions: number): TopicSpec[] {
  return [
    { topic, numPartitions },
    { topic: deadLetterTopic(topic), numPartitions },
  ];
}
