export { createKafka } from './client';
export type { KafkaClientOptions } from './client';
export { deadLetterTopic, ensureTopics, orderTopics } from './topics';
export type { TopicSpec } from './topics';
