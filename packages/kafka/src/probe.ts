import type { Kafka } from 'kafkajs';

export interface KafkaProbe {
  /** Resolves when a broker answers a metadata request now; rejects at once when none does (no retries). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A readiness check of the brokers: one admin client, connected on first use, asking for the cluster's metadata
 * each time. kafkajs reconnects it by itself after an outage, so the check turns green again when a broker is back.
 */
export function kafkaProbe(kafka: Kafka): KafkaProbe {
  // No retries: a probe reports now; the caller's next probe is the retry.
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connected: Promise<void> | undefined;
  return {
    async check() {
      connected ??= admin.connect().catch((error: unknown) => {
        connected = undefined;
        throw error;
      });
      await connected;
      await admin.describeCluster();
    },
    close: () => admin.disconnect(),
  };
}
