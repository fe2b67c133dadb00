import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The relay's Prometheus metrics (`settle_relay_<thing>_<unit>`), registered on the relay's own registry. */
export interface RelayMetrics {
  published: Counter<'topic'>;
  commitToAck: Histogram;
  commitToReceive: Histogram;
  receiveToAck: Histogram;
  batchSize: Histogram;
  statusReports: Counter;
  slotLag: Gauge;
  inFlight: Gauge;
  slotMissing: Gauge;
  active: Gauge;
  streaming: Gauge;
  restarts: Counter<'code'>;
  heartbeats: Counter<'outcome'>;
  outboxWaiting: Gauge;
  outboxOldestAge: Gauge;
  /**
   * Call whenever the acknowledged position moves (Kafka ack or heartbeat). `throughUs` is the Postgres time
   * (µs since the epoch) up to which every commit is now acknowledged, when the stream knows it.
   */
  progressed(throughUs?: bigint | null): void;
  /** Postgres time (µs since the epoch) up to which every committed outbox row is acknowledged by Kafka; null until known. */
  readonly acknowledgedThroughUs: bigint | null;
  /** Records one event's commit→Kafka-ack time, split at the moment the relay received it. */
  observeCommitToAck(sample: LatencySample): void;
}

/** One event's latency: from its commit, and from when the relay received it from the WAL, to the Kafka ack. */
export interface LatencySample {
  commitToAckMs: number;
  receivedToAckMs: number;
}

/**
 * Buckets of the two halves of commit→ack, fine enough below 100 ms to tell which half a p99 is in (a linger is
 * tens of ms, Postgres's side a few ms on a quiet server).
 */
const SPLIT_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** @param onCommitToAck also receives every sample (the benchmark's exact percentiles). */
export function createRelayMetrics(registry: Registry, onCommitToAck?: (sample: LatencySample) => void): RelayMetrics {
  let lastProgress = Date.now();
  let acknowledgedThroughUs: bigint | null = null;
  const registers = [registry];
  const lastProgressAt = new Gauge({
    name: 'settle_relay_last_progress_timestamp_seconds',
    help: 'Unix time the acknowledged position last moved (a Kafka ack, or a heartbeat on an idle outbox)',
    registers,
  });
  lastProgressAt.set(lastProgress / 1000);
  const metrics: RelayMetrics = {
    published: new Counter({
      name: 'settle_relay_published_events_total',
      help: 'Outbox events acknowledged by Kafka (re-sends after a restart count again)',
      labelNames: ['topic'],
      registers,
    }),
    commitToAck: new Histogram({
      name: 'settle_relay_commit_to_ack_seconds',
      help: 'From the Postgres commit of an outbox row (poll mode: its created_at) to the Kafka acknowledgement of its message',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    commitToReceive: new Histogram({
      name: 'settle_relay_commit_to_receive_seconds',
      help: 'The Postgres side of commit→ack: from the commit of an outbox row to the relay receiving it from the WAL (poll mode: claiming it)',
      buckets: SPLIT_BUCKETS,
      registers,
    }),
    receiveToAck: new Histogram({
      name: 'settle_relay_receive_to_ack_seconds',
      help: 'The relay and Kafka side of commit→ack: from the relay receiving an outbox row (its linger, the produce request) to the Kafka acknowledgement',
      buckets: SPLIT_BUCKETS,
      registers,
    }),
    batchSize: new Histogram({
      name: 'settle_relay_batch_size_events',
      help: 'Events per Kafka produce request',
      buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000],
      registers,
    }),
    statusReports: new Counter({
      name: 'settle_relay_status_reports_total',
      help: 'Standby status updates sent to Postgres (the acknowledged position, at most every RELAY_STATUS_INTERVAL_MS)',
      registers,
    }),
    slotLag: new Gauge({
      name: 'settle_relay_slot_lag_bytes',
      help: 'pg_current_wal_lsn() minus the slot confirmed_flush_lsn: WAL the relay has not confirmed yet',
      registers,
    }),
    inFlight: new Gauge({
      name: 'settle_relay_in_flight_events',
      help: 'Events read from Postgres and not yet acknowledged by Kafka',
      registers,
    }),
    slotMissing: new Gauge({
      name: 'settle_relay_slot_missing',
      help: '1 when the replication slot is gone or was never set up: the relay refuses to stream',
      registers,
    }),
    active: new Gauge({
      name: 'settle_relay_active',
      help: '1 when this instance holds the advisory lock (the active relay), 0 on a standby',
      registers,
    }),
    streaming: new Gauge({
      name: 'settle_relay_streaming',
      help: '1 while the active relay is streaming (WAL) or polling (poll mode)',
      registers,
    }),
    restarts: new Counter({
      name: 'settle_relay_restarts_total',
      help: 'Streams torn down and restarted from the slot after a failure, by error code',
      labelNames: ['code'],
      registers,
    }),
    heartbeats: new Counter({
      name: 'settle_relay_heartbeats_total',
      help: 'Heartbeat messages written into the WAL, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    outboxWaiting: new Gauge({
      name: 'settle_relay_outbox_waiting_events',
      help: 'Outbox rows committed and not yet acknowledged by Kafka (counted up to 100000; NaN until the relay knows its acknowledged position)',
      registers,
    }),
    outboxOldestAge: new Gauge({
      name: 'settle_relay_outbox_oldest_waiting_age_seconds',
      help: 'Age of the oldest outbox row not yet acknowledged by Kafka (0 when none waits; NaN while unknown)',
      registers,
    }),
    progressed: (throughUs) => {
      lastProgress = Date.now();
      lastProgressAt.set(lastProgress / 1000);
      if (throughUs !== undefined && throughUs !== null && (acknowledgedThroughUs === null || throughUs > acknowledgedThroughUs))
        acknowledgedThroughUs = throughUs;
    },
    get acknowledgedThroughUs() {
      return acknowledgedThroughUs;
    },
    observeCommitToAck: (sample) => {
      metrics.commitToAck.observe(sample.commitToAckMs / 1000);
      metrics.commitToReceive.observe(Math.max(0, sample.commitToAckMs - sample.receivedToAckMs) / 1000);
      metrics.receiveToAck.observe(sample.receivedToAckMs / 1000);
      onCommitToAck?.(sample);
    },
  };
  metrics.outboxWaiting.set(Number.NaN);
  metrics.outboxOldestAge.set(Number.NaN);
  new Gauge({
    name: 'settle_relay_last_ack_age_seconds',
    help: 'Seconds since the acknowledged position last moved (a Kafka ack, or a heartbeat on an idle outbox)',
    registers,
    collect() {
      this.set((Date.now() - lastProgress) / 1000);
    },
  });
  return metrics;
}
