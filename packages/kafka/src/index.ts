export { createKafka } from './client';
export type { KafkaClientOptions } from './client';
export { deadLetterTopic, ensureTopics, orderTopics } from './topics';
export type { TopicSpec } from './topics';
export { deadLetterHeaders, DLT_HEADERS, headersAsText, headerText, readDeadLetter, REPLAY_HEADERS } from './dlt';
export type { DeadLetterInfo } from './dlt';
export { kafkaProbe } from './probe';
export type { KafkaProbe } from './probe';
