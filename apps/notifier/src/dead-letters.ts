import type { IHeaders, Producer } from 'kafkajs';
import { deadLetterHeaders, deadLetterTopic, type DeadLetterInfo } from '@settle/kafka';

export interface DeadLetter {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: IHeaders | undefined;
  info: DeadLetterInfo;
}

/** Publishes dead letters to `<topic>.dlt` and waits for Kafka's acknowledgement (acks = all). */
export async function publishDeadLetters(producer: Producer, topic: string, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await producer.send({
    topic: deadLetterTopic(topic),
    acks: -1,
    messages: letters.map((letter) => ({ key: letter.key, value: letter.value, headers: deadLetterHeaders(letter.info, letter.headers) })),
  });
}
