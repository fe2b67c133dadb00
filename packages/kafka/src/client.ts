import { Kafka, logLevel, type LogEntry, type logCreator, type RetryOptions } from 'kafkajs';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /**
   * Receives kafkajs's own log entries at WARN and above; those about conditions kafkajs retries by itself while a
   * broker starts (see TRANSIENT) arrive as `debug`. @default discard
   */
  onLog?: (level: 'error' | 'warn' | 'debug', message: string, extra: Record<string, unknown>) => void;
  /** Retries of each request (a one-shot reader such as `settle-ops status` fails fast). @default 8 retries, 100 ms to 5 s */
  retry?: RetryOptions;
  /** @default kafkajs's 1000 ms */
  connectionTimeout?: number;
}

/**
 * kafkajs logs each attempt of a request it retries itself at ERROR or WARN. These are the answers a healthy broker
 * gives for a few seconds after it starts (its group coordinator and partition leaders are being loaded), and the
 * notice about bounded retries of an idempotent producer, which Settle bounds on purpose (a failed producer is
 * replaced). What finally fails reaches the caller as an error, classified and logged there.
 */
const TRANSIENT = [
  /coordinator is loading/i,
  /group coordinator is not available/i,
  /no leader for this topic-partition/i,
  /not the leader for that topic-partition/i,
  /Limiting retries for the idempotent producer/,
];

/** A kafkajs client whose logs go to `onLog` rather than the console. */
export function createKafka(options: KafkaClientOptions): Kafka {
  const toLogger: logCreator = () => (entry: LogEntry) => {
    if (options.onLog === undefined) return;
    const { message, ...extra } = entry.log;
    const text = `${message} ${typeof extra['error'] === 'string' ? extra['error'] : ''}`;
    const level = TRANSIENT.some((pattern) => pattern.test(text)) ? 'debug' : entry.level === logLevel.ERROR ? 'error' : 'warn';
    options.onLog(level, `${entry.namespace}: ${message}`, extra);
  };
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: toLogger,
    retry: options.retry ?? { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 },
    ...(options.connectionTimeout === undefined ? {} : { connectionTimeout: options.connectionTimeout }),
  });
}
