import type { Kafka } from 'kafkajs';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { Logger } from '@settle/observability';
import { databaseError, RelayError } from './errors';
import { formatLsn, type Lsn, parseLsn } from './lsn';
import type { RelayMetrics } from './metrics';
import { type OutboundRecord, type OutboxRow, toOutboundRecord, type TopicRouter } from './outbox-message';
import { Publisher } from './publisher';
import { type StreamEntry, Watermark } from './watermark';

/** Prefix of the relay's heartbeat messages (`pg_logical_emit_message`). */
export const HEARTBEAT_PREFIX = 'settle-heartbeat';

export interface WalStreamOptions {
  databaseUrl: string;
  slot: string;
  publication: string;
  kafka: Kafka;
  route: TopicRouter;
  /** Events read and not yet acknowledged by Kafka before reading pauses. */
  maxInFlight: number;
  batchSize: number;
  /** Upper bound of one produce request (Kafka's default message.max.bytes is 1 MB per partition batch). */
  batchBytes: number;
  /** Ready events of this many bytes go out without waiting for the linger (RELAY_BATCH_BYTES). */
  sendAtBytes: number;
  sendTimeoutMs: number;
  /**
   * How long the first event of a produce request that is not full waits for more (RELAY_LINGER_MS), as Kafka's
   * linger.ms. 0 sends as soon as anything is ready.
   */
  lingerMs: number;
  /**
   * The linger applies only while outbox events arrive at least this fast (events/s over the last RATE_WINDOW_MS;
   * RELAY_LINGER_FROM_RATE); slower, each is sent as soon as it is ready. 0 lingers at any rate.
   */
  lingerFromRate: number;
  /** The acknowledged position is reported to Postgres at most this often (RELAY_STATUS_INTERVAL_MS). */
  reportIntervalMs: number;
  /** How often an unchanged position is reported again, so Postgres sees the relay alive without a keepalive request. */
  statusKeepaliveMs: number;
  /** How long a graceful stop waits for in-flight events to be acknowledged. */
  drainTimeoutMs: number;
  logger: Logger;
  metrics: RelayMetrics;
  /** Called once when Postgres starts streaming. */
  onStreaming(): void;
  /** Called when the acknowledged position moves. */
  onProgress(watermark: Lsn): void;
}

interface Pending {
  record: OutboundRecord;
  entry: StreamEntry;
  bytes: number;
}

/**
 * pgoutput with json/jsonb columns left as text: the payload goes to Kafka byte for byte instead of through
 * JSON.parse + JSON.stringify. Relation messages are parsed before the rows that use them, and the parser keeps
 * the relation object these rows are decoded with, so swapping the column parser here applies to them.
 */
class RawJsonPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    if (message.tag === 'relation') {
      for (const column of message.columns) {
        if (column.typeOid === 114 || column.typeOid === 3802) column.parser = (raw: unknown) => raw;
      }
    }
    return message;
  }
}

/**
 * One replication session: a fresh LogicalReplicationService and a fresh producer, streaming from the slot's
 * confirmed position until `signal` aborts (resolves) or anything fails (rejects with a RelayError). It is
 * never resumed: after a failure the caller starts a new session, which re-reads every transaction Kafka had not
 * acknowledged. Acknowledgements to Postgres carry the watermark only, never the last received LSN.
 */
export async function streamFromSlot(options: WalStreamOptions, start: Lsn, signal: AbortSignal): Promise<void> {
  const session = new WalSession(options, start);
  return session.run(signal);
}

/** The window over which the relay measures how fast outbox events arrive (lingerFromRate). */
const RATE_WINDOW_MS = 250;

class WalSession {
  private readonly watermark: Watermark;
  private readonly ready: Pending[] = [];
  private readyBytes = 0;
  private inFlight = 0;
  /** Runs out the linger of the first ready event; null when nothing lingers. */
  private lingerTimer: NodeJS.Timeout | null = null;
  /** The ready events have lingered long enough (or fill a request): the sender takes them as soon as it is free. */
  private sendDue = false;
  /** Outbox events read in the current rate window (which began at windowStart) and in the one before it. */
  private windowStart = 0;
  private windowEvents = 0;
  private previousWindowEvents = 0;
  private reportTimer: NodeJS.Timeout | null = null;
  private transaction: { entry: StreamEntry; commitLsn: string } | null = null;
  private failure: RelayError | null = null;
  private stopping = false;
  private service: LogicalReplicationService | null = null;
  private publisher: Publisher | null = null;
  private lastReported: Lsn = -1n;
  private lastReportedAt = 0;
  private lastProgress: Lsn;
  private wakeSender: (() => void) | null = null;
  private capacityWaiters: Array<() => void> = [];
  private settle: (() => void) | null = null;
  private readonly halted: Promise<void>;

  constructor(
    private readonly options: WalStreamOptions,
    start: Lsn,
  ) {
    this.watermark = new Watermark(start);
    this.lastProgress = start;
    this.halted = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const { options } = this;
    const onAbort = (): void => void this.halt(null);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Kafka first: while it is unreachable nothing is read from the WAL at all.
      const connecting = Publisher.connect(options.kafka, { sendTimeoutMs: options.sendTimeoutMs });
      const publisher = await Promise.race([connecting, this.halted.then(() => null)]).catch((error: unknown) => {
        this.halt(error instanceof RelayError ? error : new RelayError('KAFKA_UNAVAILABLE', 'connecting the producer', { cause: error }));
        return null;
      });
      if (publisher === null || this.stopping) {
        // Stopped while connecting: a producer that connects later is closed, not leaked.
        connecting.then(
          (late) => late.close(),
          () => undefined,
        );
        return;
      }
      this.publisher = publisher;
      const service = new LogicalReplicationService(
        { connectionString: options.databaseUrl, application_name: 'settle-relay' },
        // No automatic acknowledgement of "last received", and flow control so a slow handler pauses the socket.
        { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
      );
      this.service = service;
      service.on('error', (error: Error) => void this.halt(databaseError(error, 'REPLICATION_FAILED', 'replication connection')));
      service.on('heartbeat', (_lsn: string, _time: number, shouldRespond: boolean) => {
        if (shouldRespond) this.report(true);
      });
      service.on('start', () => {
        options.logger.info({ slot: options.slot, from: formatLsn(this.watermark.lsn) }, 'streaming from the replication slot');
        options.onStreaming();
      });
      service.on('data', (lsn: string, message: Pgoutput.Message) => this.onMessage(lsn, message));
      const plugin = new RawJsonPgoutputPlugin({ protoVersion: 1, publicationNames: [options.publication], messages: true });
      service
        .subscribe(plugin, options.slot)
        .then(() => this.halt(new RelayError('REPLICATION_FAILED', 'the replication stream ended')))
        .catch((error: unknown) => this.halt(databaseError(error, 'REPLICATION_FAILED', 'START_REPLICATION')));
      const statusTimer = setInterval(() => this.report(false), Math.min(100, options.statusKeepaliveMs));
      const sender = this.sendLoop();
      await this.halted;
      clearInterval(statusTimer);
      // A graceful stop lets the sender finish what was read, for a while; a failure stops it at once.
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([sender, new Promise((resolve) => (drainTimer = setTimeout(resolve, options.drainTimeoutMs)))]);
      clearTimeout(drainTimer);
    } catch (error) {
      this.failure ??= error instanceof RelayError ? error : databaseError(error, 'REPLICATION_FAILED', 'replication session');
    } finally {
      signal.removeEventListener('abort', onAbort);
      await this.teardown();
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Stops the session: `reason` null is a graceful stop (drain, report, close), otherwise a failure. */
  private halt(reason: RelayError | null): void {
    if (this.stopping) return;
    this.stopping = true;
    this.failure = reason;
    this.wakeSender?.();
    this.settle?.();
  }

  /**
   * The `data` handler. The library waits for it before handing over the next message, and keeps the socket
   * paused meanwhile: waiting here for capacity (at RELAY_MAX_IN_FLIGHT) stops reading.
   */
  private async onMessage(lsn: string, message: Pgoutput.Message): Promise<void> {
    // Once stopping, nothing more is taken in: this handler never resolves, so the library's queue stalls here
    // and no later commit can be counted without its rows.
    if (this.stopping) return new Promise<void>(() => undefined);
    this.handle(lsn, message);
    if (this.inFlight >= this.options.maxInFlight) {
      this.flush();
      await this.waitForCapacity();
    }
  }

  /** Takes one decoded message into the stream: a transaction's begin, rows and commit, or a heartbeat. */
  private handle(lsn: string, message: Pgoutput.Message): void {
    try {
      switch (message.tag) {
        case 'begin': {
          const commitLsn = formatLsn(parseLsn(message.commitLsn ?? lsn));
          this.transaction = {
            entry: this.watermark.begin(Number(message.commitTime) / 1000, BigInt(message.commitTime.toString())),
            commitLsn,
          };
          return;
        }
        case 'insert': {
          if (message.relation.name !== 'outbox') return;
          if (this.transaction === null) throw new RelayError('REPLICATION_FAILED', 'an outbox insert arrived outside a transaction');
          const record = toOutboundRecord(message.new as OutboxRow, this.transaction.commitLsn, this.options.route);
          this.transaction.entry.pending += 1;
          const bytes = approximateSize(record);
          this.ready.push({ record, entry: this.transaction.entry, bytes });
          this.readyBytes += bytes;
          this.inFlight += 1;
          this.options.metrics.inFlight.set(this.inFlight);
          if (!this.lingering() || this.ready.length >= this.options.batchSize || this.readyBytes >= this.options.sendAtBytes) {
            this.flush();
          } else if (!this.sendDue) {
            this.lingerTimer ??= setTimeout(() => this.flush(), this.options.lingerMs);
          }
          return;
        }
        case 'commit': {
          if (this.transaction === null) return;
          this.advanced(this.watermark.commit(this.transaction.entry, parseLsn(message.commitEndLsn ?? lsn)));
          this.transaction = null;
          return;
        }
        case 'message': {
          // Heartbeats arrive outside transactions; acknowledging one tells Postgres an idle outbox is caught up.
          if (!message.transactional && message.prefix === HEARTBEAT_PREFIX) {
            this.advanced(this.watermark.mark(parseLsn(message.messageLsn ?? lsn), heartbeatTimeUs(message.content)));
          }
          return;
        }
        default:
          return;
      }
    } catch (error) {
      this.halt(
        error instanceof RelayError ? error : new RelayError('REPLICATION_FAILED', 'decoding the replication stream', { cause: error }),
      );
    }
  }

  /**
   * Counts an outbox event read and says whether ready events should linger: only while events arrive at
   * lingerFromRate or faster (the fuller of this window and the last one). Under load a linger gathers many events
   * per request, which is what the broker's CPU follows; at a trickle it would gather a few at the cost of its whole
   * length in latency, so a lone event goes at once.
   */
  private lingering(): boolean {
    const { lingerMs, lingerFromRate } = this.options;
    if (lingerMs === 0) return false;
    const now = performance.now();
    const since = now - this.windowStart;
    if (since >= RATE_WINDOW_MS) {
      this.previousWindowEvents = since < 2 * RATE_WINDOW_MS ? this.windowEvents : 0;
      this.windowStart = now;
      this.windowEvents = 0;
    }
    this.windowEvents += 1;
    return (Math.max(this.windowEvents, this.previousWindowEvents) * 1000) / RATE_WINDOW_MS >= lingerFromRate;
  }

  private waitForCapacity(): Promise<void> {
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
  }

  /** Lets the sender take what is ready: at once when it is idle, otherwise right after the current ack. */
  private flush(): void {
    if (this.lingerTimer !== null) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    this.sendDue = true;
    this.wakeSender?.();
  }

  /**
   * Sends ready events in order, one produce request at a time, and acknowledges them in the watermark. Events are
   * taken once they are due (lingered, or filling a request); what arrives while a request is in flight goes with the
   * next one, right after the ack. A graceful stop sends what is ready without waiting.
   */
  private async sendLoop(): Promise<void> {
    for (;;) {
      if (this.stopping && (this.failure !== null || this.ready.length === 0)) return;
      if (this.ready.length === 0 || !(this.sendDue || this.stopping)) {
        if (this.ready.length === 0) this.sendDue = false;
        await new Promise<void>((resolve) => {
          this.wakeSender = resolve;
        });
        this.wakeSender = null;
        continue;
      }
      const batch = this.takeBatch();
      if (this.ready.length === 0) this.sendDue = false;
      try {
        await this.requirePublisher().publish(batch.map((item) => item.record));
      } catch (error) {
        this.halt(error instanceof RelayError ? error : new RelayError('KAFKA_UNAVAILABLE', 'publishing', { cause: error }));
        return;
      }
      this.acknowledged(batch);
    }
  }

  private takeBatch(): Pending[] {
    let bytes = 0;
    let count = 0;
    while (count < this.ready.length && count < this.options.batchSize) {
      const item = this.ready[count];
      if (item === undefined || (count > 0 && bytes + item.bytes > this.options.batchBytes)) break;
      bytes += item.bytes;
      count += 1;
    }
    const batch = this.ready.splice(0, count);
    this.readyBytes -= bytes;
    return batch;
  }

  private acknowledged(batch: Pending[]): void {
    const { metrics } = this.options;
    const now = Date.now();
    const perTopic = new Map<string, number>();
    let watermark = this.watermark.lsn;
    let previous: StreamEntry | null = null;
    let run = 0;
    const flush = (): void => {
      if (previous !== null && run > 0) watermark = this.watermark.acknowledge(previous, run);
    };
    for (const item of batch) {
      if (item.entry !== previous) {
        flush();
        previous = item.entry;
        run = 0;
      }
      run += 1;
      perTopic.set(item.record.topic, (perTopic.get(item.record.topic) ?? 0) + 1);
      if (item.entry.commitTimeMs !== null) {
        metrics.observeCommitToAck({
          commitToAckMs: Math.max(0, now - item.entry.commitTimeMs),
          receivedToAckMs: now - item.entry.receivedAtMs,
        });
      }
    }
    flush();
    for (const [topic, count] of perTopic) metrics.published.inc({ topic }, count);
    metrics.batchSize.observe(batch.length);
    this.inFlight -= batch.length;
    metrics.inFlight.set(this.inFlight);
    this.advanced(watermark);
    // Hysteresis: resume reading once a quarter of the window is free, not after every single ack.
    if (this.inFlight <= this.options.maxInFlight * 0.75) {
      const waiters = this.capacityWaiters;
      this.capacityWaiters = [];
      for (const resume of waiters) resume();
    }
  }

  private advanced(watermark: Lsn): void {
    if (watermark > this.lastProgress) {
      this.lastProgress = watermark;
      this.options.metrics.progressed(this.watermark.timeUs);
      this.options.onProgress(watermark);
      this.scheduleReport();
    }
  }

  /**
   * Reports the watermark now, or once RELAY_STATUS_INTERVAL_MS has passed since the last report: each report is a
   * message the walsender reads and acts on, and a steady load moves the watermark hundreds of times a second. What
   * is reported is always the watermark of that moment, so never ahead of Kafka; a crash re-sends at most the events
   * acknowledged within one interval.
   */
  private scheduleReport(): void {
    if (this.reportTimer !== null) return;
    const wait = this.lastReportedAt + this.options.reportIntervalMs - Date.now();
    if (wait <= 0) {
      this.report(false);
      return;
    }
    this.reportTimer = setTimeout(() => {
      this.reportTimer = null;
      this.report(true);
    }, wait);
  }

  /**
   * Tells Postgres the watermark (write = flush = apply). pg-logical-replication's acknowledge() reports the
   * given LSN + 1, so it is handed watermark - 1 and Postgres receives exactly the watermark: one byte more could
   * skip a transaction whose commit record starts right at the previous commit's end.
   */
  private report(force: boolean): void {
    const service = this.service;
    const watermark = this.watermark.lsn;
    if (service === null || watermark === 0n) return;
    const now = Date.now();
    if (!force) {
      const since = now - this.lastReportedAt;
      if (since < (watermark === this.lastReported ? this.options.statusKeepaliveMs : this.options.reportIntervalMs)) return;
    }
    this.lastReported = watermark;
    this.lastReportedAt = now;
    this.options.metrics.statusReports.inc();
    service.acknowledge(formatLsn(watermark - 1n)).catch((error: unknown) => {
      this.halt(databaseError(error, 'REPLICATION_FAILED', 'sending the standby status update'));
    });
  }

  private requirePublisher(): Publisher {
    if (this.publisher === null) throw new RelayError('KAFKA_UNAVAILABLE', 'no Kafka producer');
    return this.publisher;
  }

  private async teardown(): Promise<void> {
    const { options } = this;
    this.stopping = true;
    if (this.failure === null && this.inFlight > 0) {
      options.logger.info({ inFlight: this.inFlight }, 'draining in-flight events before stopping');
    }
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    if (this.reportTimer !== null) clearTimeout(this.reportTimer);
    // A last report so a restart re-sends as little as possible.
    this.report(true);
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const resume of waiters) resume();
    await this.service?.destroy().catch(() => undefined);
    await this.publisher?.close();
    this.service = null;
    this.publisher = null;
    options.metrics.inFlight.set(0);
  }
}

/** A heartbeat's content is Postgres's clock in µs since the epoch (heartbeat.ts); older heartbeats carry none. */
function heartbeatTimeUs(content: Uint8Array): bigint | null {
  const text = Buffer.from(content).toString('utf8');
  return /^\d+$/.test(text) ? BigInt(text) : null;
}

function approximateSize(record: OutboundRecord): number {
  let size = record.message.key.length + record.message.value.length + 70;
  for (const [name, value] of Object.entries(record.message.headers)) size += name.length + value.length + 2;
  return size;
}
