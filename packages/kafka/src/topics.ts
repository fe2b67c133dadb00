import type { Kafka } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  /** @default 6 */
  numPartitions?: number;
}

/** The dead-letter topic of `topic`. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlt`;
}

/** Creates the topics that do not exist yet (idempotent); waits until their leaders are elected. */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((spec) => !existing.has(spec.topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({ topic: spec.topic, numPartitions: spec.numPartitions ?? 6, replicationFactor: 1 })),
    });
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
