import { Counter, Gauge, type Registry } from 'prom-client';

/** The kit's metrics, registered on the caller's registry, labelled by consumer group. */
export interface ConsumerMetrics {
  processed: Counter<'group' | 'type'>;
  duplicates: Counter<'group'>;
  held: Counter<'group'>;
  failed: Counter<'group' | 'reason'>;
  retries: Counter<'group'>;
  lag: Gauge<'group' | 'topic' | 'partition'>;
}

export function createMetrics(registry: Registry): ConsumerMetrics {
  const existing = (name: string) => registry.getSingleMetric(name);
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    (existing(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
  return {
    processed: counter('settle_consumer_processed_events_total', 'events handed to the handler and committed with its writes', [
      'group',
      'type',
    ]),
    duplicates: counter(
      'settle_consumer_duplicate_events_total',
      'events dropped because the inbox already had them (redeliveries, replays, re-publishes)',
      ['group'],
    ),
    held: counter('settle_consumer_held_events_total', 'events held in the inbox behind a dead letter of their order', ['group']),
    failed: counter(
      'settle_consumer_failed_events_total',
      'messages sent to the dead-letter topic, by reason (invalid, permanent, exhausted)',
      ['group', 'reason'],
    ),
    retries: counter('settle_consumer_retries_total', 'handler attempts that failed transiently and were retried', ['group']),
    lag:
      (existing('settle_consumer_lag_messages') as Gauge<'group' | 'topic' | 'partition'> | undefined) ??
      new Gauge({
        name: 'settle_consumer_lag_messages',
        help: "messages behind the partition's high watermark",
        labelNames: ['group', 'topic', 'partition'],
        registers: [registry],
      }),
  };
}
