import type { NotificationPayload } from '@settle/contracts';
import { lastNotificationSeq, markNotificationsDelivered, notificationsAfter, type Pool } from '@settle/db';
import type { Logger } from '@settle/observability';
import type { NotifierMetrics } from './metrics';
import type { NotifierSocket } from './socket-types';

/** How long acks gather before one UPDATE records them. */
const ACK_FLUSH_MS = 100;

/** Batches client acks into one UPDATE per flush; a failed flush keeps them for the next one. */
export class AckBuffer {
  private pending: Array<{ recipient: string; seq: number; at: number; since: number | undefined }> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly metrics: NotifierMetrics,
    private readonly logger: Logger,
  ) {}

  /**
   * Records an ack as received now (delivered_at is the ack's arrival, not the flush). `occurredAt` is the event's
   * time from the write path: the latency histogram measures from the commit, not from the notification row.
   */
  add(recipient: string, seq: number, occurredAt: string): void {
    const since = Date.parse(occurredAt);
    this.pending.push({ recipient, seq, at: Date.now(), since: Number.isNaN(since) ? undefined : since });
    if (this.pending.length >= 1_000) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), ACK_FLUSH_MS);
  }

  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing !== undefined) await this.flushing;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = (async () => {
      try {
        const latencies = await markNotificationsDelivered(this.pool, batch);
        this.metrics.delivered.inc(latencies.length);
        for (const ms of latencies) this.metrics.deliveryLatency.observe(ms / 1000);
      } catch (error) {
        // Not lost: the acks are retried with the next flush, and undelivered rows are replayed anyway.
        this.logger.warn({ err: error, acks: batch.length }, 'could not record acks; retrying');
        this.pending.unshift(...batch);
        this.timer ??= setTimeout(() => void this.flush(), 1_000);
      } finally {
        this.flushing = undefined;
      }
    })();
    await this.flushing;
  }
}

/** A local socket of a recipient: what it was sent, what waits, its outstanding acks (the ack-timeout sweep reads these). */
export interface LocalSocket {
  socket: NotifierSocket;
  unacked: number;
  /** When the socket last made progress (an ack, or the emit that left it with one unacked). */
  since: number;
  /** Every seq at or below this was sent to the socket, or never existed (starts at the handshake's lastSeq). */
  sent: number;
  /**
   * Live notifications held back while the socket catches up from the table (its replay, or a gap in the live
   * stream), by seq; undefined while it is live.
   */
  waiting: Map<number, Omit<NotificationPayload, 'seq'>> | undefined;
}

/**
 * Each recipient's sockets on this node and what each was sent: every stored notification reaches a socket once, in
 * seq order. A connecting socket gets everything above its handshake's lastSeq replayed, then `synced`, then the live
 * ones held back meanwhile; a live seq beyond the next one makes the socket catch up from the table first. A socket
 * that acknowledged nothing for a whole NOTIFIER_ACK_TIMEOUT_MS while it had notifications outstanding is
 * disconnected (one sweep, not a timer per emit); it reconnects with its lastSeq and gets them replayed.
 */
export class Inboxes {
  private readonly byRecipient = new Map<string, Set<LocalSocket>>();
  private readonly acks: AckBuffer;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly options: { pool: Pool; metrics: NotifierMetrics; logger: Logger; ackTimeoutMs: number; replayPage: number },
  ) {
    this.acks = new AckBuffer(options.pool, options.metrics, options.logger);
    this.sweep = setInterval(() => this.disconnectSilent(), Math.max(100, Math.floor(options.ackTimeoutMs / 2)));
    this.sweep.unref();
  }

  /**
   * Registers a connected socket, before its inbox is read (replay): every notification committed after that read
   * reaches offer(), which holds it until the replay is sent. Returns the unregistration, for its disconnect.
   */
  register(socket: NotifierSocket): { entry: LocalSocket; unregister: () => void } {
    const { recipient } = socket.data;
    const entry: LocalSocket = { socket, unacked: 0, since: 0, sent: socket.data.lastSeq, waiting: new Map() };
    const entries = this.byRecipient.get(recipient);
    if (entries === undefined) this.byRecipient.set(recipient, new Set([entry]));
    else entries.add(entry);
    return {
      entry,
      unregister: () => {
        const left = this.byRecipient.get(recipient);
        left?.delete(entry);
        if (left?.size === 0) this.byRecipient.delete(recipient);
      },
    };
  }

  /** A stored notification for the recipient's sockets on this node. */
  offerLocal(recipient: string, seq: number, payload: Omit<NotificationPayload, 'seq'>): void {
    const entries = this.byRecipient.get(recipient);
    if (entries === undefined) return;
    for (const entry of entries) this.offer(entry, recipient, seq, payload);
  }

  /** Replays everything above the handshake's lastSeq up to the recipient's last seq, then `synced`, then what waited. */
  async replay(entry: LocalSocket): Promise<void> {
    const upTo = await lastNotificationSeq(this.options.pool, entry.socket.data.recipient);
    const replayed = await this.catchUp(entry, upTo);
    this.options.metrics.replayed.inc(replayed);
    entry.socket.emit('synced', { seq: Math.max(upTo, 0), replayed });
    await this.drain(entry);
  }

  catchUpFailed(entry: LocalSocket, error: unknown): void {
    this.options.logger.error(
      { err: error, socketId: entry.socket.id, recipient: entry.socket.data.recipient },
      'reading missed notifications failed; disconnecting so the client reconnects with its lastSeq',
    );
    entry.socket.disconnect(true);
  }

  /** Stops the sweep and records the acks still buffered. */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    await this.acks.flush();
  }

  private disconnectSilent(): void {
    const stale = Date.now() - this.options.ackTimeoutMs;
    for (const entries of this.byRecipient.values()) {
      for (const entry of entries) {
        if (entry.unacked > 0 && entry.since < stale) {
          this.options.logger.warn(
            { socketId: entry.socket.id, recipient: entry.socket.data.recipient, unacked: entry.unacked },
            'socket stopped acknowledging; disconnecting it so it reconnects and replays',
          );
          entry.socket.disconnect(true);
        }
      }
    }
  }

  /** Emits a stored notification to one socket; its ack marks the row delivered. */
  private deliver(entry: LocalSocket, recipient: string, payload: NotificationPayload): void {
    if (entry.unacked === 0) entry.since = Date.now();
    entry.unacked += 1;
    entry.sent = payload.seq;
    entry.socket.emit('notification', payload, () => {
      entry.unacked -= 1;
      entry.since = Date.now();
      this.acks.add(recipient, payload.seq, payload.occurredAt);
    });
  }

  /**
   * A live notification for one local socket. Sent at once when it is the next seq; held when the socket is
   * catching up; a seq beyond the next one (another node's notification overtook an earlier one, or a replay is
   * under way) makes the socket catch up from the table first. A seq that was sent already is dropped.
   */
  private offer(entry: LocalSocket, recipient: string, seq: number, payload: Omit<NotificationPayload, 'seq'>): void {
    if (seq <= entry.sent) return;
    if (entry.waiting !== undefined) {
      entry.waiting.set(seq, payload);
      return;
    }
    if (seq === entry.sent + 1) {
      this.deliver(entry, recipient, { ...payload, seq });
      return;
    }
    entry.waiting = new Map([[seq, payload]]);
    this.drain(entry).catch((error: unknown) => this.catchUpFailed(entry, error));
  }

  /**
   * Sends the stored rows in (sent, upTo] in seq order; returns how many. Rows up to a committed seq are all
   * committed (the recipient's counter row serialises the writers), so a seq missing there never comes.
   */
  private async catchUp(entry: LocalSocket, upTo: number): Promise<number> {
    const { recipient } = entry.socket.data;
    const page = this.options.replayPage;
    let sent = 0;
    while (entry.sent < upTo && entry.socket.connected) {
      const rows = (await notificationsAfter(this.options.pool, recipient, entry.sent, page)).filter((row) => row.seq <= upTo);
      for (const row of rows) this.deliver(entry, recipient, { ...(row.payload as Omit<NotificationPayload, 'seq'>), seq: row.seq });
      sent += rows.length;
      if (rows.length < page) break;
    }
    if (entry.sent < upTo) entry.sent = upTo;
    return sent;
  }

  /** Sends what waits, in seq order, catching up from the table over any gap; then the socket is live again. */
  private async drain(entry: LocalSocket): Promise<void> {
    const { recipient } = entry.socket.data;
    for (;;) {
      const waiting = entry.waiting;
      if (waiting === undefined || !entry.socket.connected) return;
      for (const seq of [...waiting.keys()].sort((a, b) => a - b)) {
        const payload = waiting.get(seq);
        if (seq > entry.sent + 1 || payload === undefined) break;
        waiting.delete(seq);
        if (seq === entry.sent + 1) this.deliver(entry, recipient, { ...payload, seq });
      }
      if (waiting.size === 0) {
        entry.waiting = undefined;
        return;
      }
      await this.catchUp(entry, Math.min(...waiting.keys()) - 1);
    }
  }
}
