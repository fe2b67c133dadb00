import { Kafka, logLevel, type LogEntry, type logCreator, type RetryOptions } from 'kafkajs';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Receives kafkajs's own log entries at WARN and above. @default discard */
  onLog?: (level: 'error' | 'warn', message: string, extra: Record<string, unknown>) => void;
  /** Retries of each request (a one-shot reader such as `settle-ops status` fails fast). @default 8 retries, 100 ms to 5 s */
  retry?: RetryOptions;
  /** @default kafkajs's 1000 ms */
  connectionTimeout?: number;
}

/** A kafkajs client whose logs go to `onLog` rather than the console. */
export function createKafka(options: KafkaClientOptions): Kafka {
  const toLogger: logCreator = () => (entry: LogEntry) => {
    if (options.onLog === undefined) return;
    const { message, ...extra } = entry.log;
    options.onLog(entry.level === logLevel.ERROR ? 'error' : 'warn', `${entry.namespace}: ${message}`, extra);
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
