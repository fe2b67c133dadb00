import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface NotifierMetrics {
  eventsProcessed: Counter;
  emitted: Counter<'kind'>;
  delivered: Counter;
  deliveryLatency: Histogram;
  deadLetters: Counter<'channel' | 'reason'>;
  retries: Counter;
  retryDelay: Histogram;
  connectedSockets: Gauge;
  webhookAttempts: Counter<'outcome'>;
  replayed: Counter;
  consumerLag: Gauge<'partition'>;
  lastProgress: Gauge;
}

/** The notifier's metrics, named settle_notifier_<thing>_<unit>. */
export function createNotifierMetrics(registry: Registry, connected: () => number): NotifierMetrics {
  const registers = [registry];
  const metrics: NotifierMetrics = {
    eventsProcessed: new Counter({
      name: 'settle_notifier_events_processed_total',
      help: 'Order events consumed and committed',
      registers,
    }),
    emitted: new Counter({
      name: 'settle_notifier_emitted_total',
      help: 'Socket emits: notification (per recipient room), book (one per book event), order_room',
      labelNames: ['kind'],
      registers,
    }),
    delivered: new Counter({
      name: 'settle_notifier_delivered_total',
      help: 'Notifications acknowledged by a client (delivered_at set)',
      registers,
    }),
    deliveryLatency: new Histogram({
      name: 'settle_notifier_delivery_latency_seconds',
      help: "From the event's occurredAt (set in the transaction that commits it) to the client's first ack (delivered_at)",
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    }),
    deadLetters: new Counter({
      name: 'settle_notifier_dlt_total',
      help: 'Messages sent to the dead-letter topic',
      labelNames: ['channel', 'reason'],
      registers,
    }),
    retries: new Counter({
      name: 'settle_notifier_retries_total',
      help: 'Transient failures: partition paused and retried with backoff',
      registers,
    }),
    retryDelay: new Histogram({
      name: 'settle_notifier_retry_delay_seconds',
      help: 'Backoff delays chosen after transient failures',
      buckets: [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    }),
    connectedSockets: new Gauge({
      name: 'settle_notifier_connected_sockets',
      help: 'Sockets connected to this node',
      registers,
      collect() {
        this.set(connected());
      },
    }),
    webhookAttempts: new Counter({
      name: 'settle_notifier_webhook_attempts_total',
      help: 'Webhook HTTP attempts by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    replayed: new Counter({ name: 'settle_notifier_replayed_total', help: 'Notifications replayed to reconnecting sockets', registers }),
    consumerLag: new Gauge({
      name: 'settle_notifier_consumer_lag_messages',
      help: "Order events after this member's last handled one, per partition, as of its latest fetch",
      labelNames: ['partition'],
      registers,
    }),
    lastProgress: new Gauge({
      name: 'settle_notifier_last_progress_timestamp_seconds',
      help: 'Unix time this notifier last handled a chunk of order events (rows committed, emitted, offset resolved); its start until then',
      registers,
    }),
  };
  // From the start: a notifier that never handles anything while events wait shows its age growing.
  metrics.lastProgress.setToCurrentTime();
  return metrics;
}
