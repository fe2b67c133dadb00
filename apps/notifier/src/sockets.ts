import type http from 'node:http';
import { createTokenVerifier, type Principal, type TokenVerifier } from '@settle/auth';
import type { Config } from '@settle/config';
import {
  handshakeAuth,
  type BookPayload,
  type ClientToServerEvents,
  type NotificationPayload,
  type ServerToClientEvents,
} from '@settle/contracts';
import { isOrderParty, lastNotificationSeq, markNotificationsDelivered, notificationsAfter, type Pool } from '@settle/db';
import type { Logger } from '@settle/observability';
import { Server, type BroadcastOperator, type Socket } from 'socket.io';
import { backoffDelay, sleep, type BackoffPolicy } from '@settle/backoff';
import type { NotifierMetrics } from './metrics';

export interface SocketData {
  principal: Principal;
  /** The inbox this socket reads: `merchant:<id>`, `user:<id>` or `compliance:compliance`. */
  recipient: string;
  lastSeq: number;
}

/** Between notifier nodes (through the adapter): a stored notification, for the recipient's sockets on every node. */
export interface InterServerEvents {
  notification: (recipient: string, seq: number, payload: Omit<NotificationPayload, 'seq'>) => void;
}

export type NotifierServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type NotifierSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** The merchants' order-book room. */
export const BOOK_ROOM = 'book';
/** The room of a recipient key (`compliance:compliance` → `compliance`). */
export const roomOf = (recipient: string): string => (recipient === 'compliance:compliance' ? 'compliance' : recipient);
export const orderRoom = (orderId: string): string => `order:${orderId}`;
const recipientOf = (principal: Principal): string =>
  principal.role === 'compliance' ? 'compliance:compliance' : `${principal.role}:${principal.id}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// setTimeout overflows above 2^31-1 ms (~24.8 days); longer expiries are re-armed.
const MAX_TIMER = 2_147_483_647;

/** The token verifier; without JWT_SECRET/JWKS_URL every handshake is refused with the reason (the process still runs). */
function safeVerifier(config: Config): TokenVerifier {
  try {
    return createTokenVerifier(config);
  } catch (error) {
    return () => Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Batches client acks into one UPDATE per flush; a failed flush keeps them for the next one. */
class AckBuffer {
  private pending: Array<{ recipient: string; seq: number; at: Date; since: Date | undefined }> = [];
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
    const since = new Date(occurredAt);
    this.pending.push({ recipient, seq, at: new Date(), since: Number.isNaN(since.getTime()) ? undefined : since });
    if (this.pending.length >= 1_000) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 20);
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
interface LocalSocket {
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
 * Disconnects a socket that sends more than `perSecond` events within a second (join_order reads the orders table,
 * so a flood costs the database). Only client events pass socket.use; acks of notifications are not counted.
 */
function guardEventRate(socket: NotifierSocket, perSecond: number, onExceeded: () => void): void {
  let windowStart = 0;
  let count = 0;
  socket.use((_packet, next) => {
    const now = Date.now();
    if (now - windowStart >= 1_000) {
      windowStart = now;
      count = 0;
    }
    count += 1;
    if (count <= perSecond) {
      next();
      return;
    }
    if (socket.connected) {
      onExceeded();
      socket.disconnect(true);
    }
  });
}

export interface SocketHub {
  io: NotifierServer;
  /** Emits a stored notification to its recipient's room (acked → delivered_at). */
  emitNotification(recipient: string, seq: number, payload: Omit<NotificationPayload, 'seq'>): void;
  /** Emits an event to watchers of `order:<id>` that are not among its recipients (seq 0: not an inbox message). */
  emitToOrderRoom(orderId: string, recipients: string[], payload: Omit<NotificationPayload, 'seq'>): void;
  emitBook(payload: BookPayload): void;
  connectedSockets(): number;
  close(): Promise<void>;
}

export interface SocketHubOptions {
  config: Config;
  pool: Pool;
  metrics: NotifierMetrics;
  logger: Logger;
  /** Attach the redis adapter etc. before connections are accepted. */
  adapter?: Parameters<NotifierServer['adapter']>[0];
  verifier?: TokenVerifier;
  /**
   * How long `join_order` waits for the order's row to show the socket as a party: the row of a just-committed
   * order may not be visible to this process yet (its event can arrive first). Retries with this backoff, at most
   * `attempts` reads in all. @default attempts 5
   */
  visibility: { backoff: BackoffPolicy; attempts?: number };
}

/**
 * socket.io on the notifier's HTTP server (default path): the JWT is verified in `io.use`; a socket joins only
 * its own inbox room, the book room (merchants) and order rooms it is a party of; it gets every notification
 * above its `lastSeq` replayed in order, then `synced`, then live ones (held back until the replay is sent), each
 * seq once and in increasing order; expired tokens are disconnected.
 */
export function createSocketHub(server: http.Server, options: SocketHubOptions): SocketHub {
  const { config, pool, metrics, logger } = options;
  const verify = options.verifier ?? safeVerifier(config);
  const acks = new AckBuffer(pool, metrics, logger);
  // perMessageDeflate stays off (engine.io's default): a ~3 KB JSON payload costs more CPU to deflate than loopback
  // or LAN bytes do.
  const origins = new Set(config.NOTIFIER_ALLOWED_ORIGINS);
  const io: NotifierServer = new Server(server, {
    serveClient: false,
    transports: ['websocket', 'polling'],
    pingInterval: 25_000,
    pingTimeout: 20_000,
    perMessageDeflate: false,
    connectTimeout: config.NOTIFIER_CONNECT_TIMEOUT_MS,
    maxHttpBufferSize: config.NOTIFIER_MAX_MESSAGE_BYTES,
    cors: { origin: config.NOTIFIER_ALLOWED_ORIGINS },
    // CORS headers only ask a browser to hide a polling answer; a websocket upgrade is not covered by CORS at all.
    // So a page of another origin is refused here. A browser always sends Origin; other clients (services, tests)
    // send none and are let through: they can present a token without any page's help.
    allowRequest: (request, callback) => {
      const origin = request.headers.origin;
      callback(null, origin === undefined || origins.has(origin));
    },
  });
  if (options.adapter !== undefined) io.adapter(options.adapter);
  // A notification always goes straight to the recipient's sockets in this process (no room lookup, no per-emit
  // timer), so each socket decides what it may be sent yet (see offer). With an adapter (Redis) the other nodes
  // get it as a server-side event and do the same for their sockets.
  const local = options.adapter === undefined;
  const visibilityAttempts = options.visibility.attempts ?? 5;
  const inboxes = new Map<string, Set<LocalSocket>>();
  const ackTimeout = config.NOTIFIER_ACK_TIMEOUT_MS;
  // One sweep instead of a timer per emit: a socket that acknowledged nothing for a whole timeout while it had
  // notifications outstanding is disconnected; it reconnects with its lastSeq and gets them replayed.
  const sweep = setInterval(
    () => {
      const stale = Date.now() - ackTimeout;
      for (const entries of inboxes.values()) {
        for (const entry of entries) {
          if (entry.unacked > 0 && entry.since < stale) {
            logger.warn(
              { socketId: entry.socket.id, recipient: entry.socket.data.recipient, unacked: entry.unacked },
              'socket stopped acknowledging; disconnecting it so it reconnects and replays',
            );
            entry.socket.disconnect(true);
          }
        }
      }
    },
    Math.max(100, Math.floor(ackTimeout / 2)),
  );
  sweep.unref();

  /** Emits a stored notification to one socket; its ack marks the row delivered. */
  function deliver(entry: LocalSocket, recipient: string, payload: NotificationPayload): void {
    if (entry.unacked === 0) entry.since = Date.now();
    entry.unacked += 1;
    entry.sent = payload.seq;
    entry.socket.emit('notification', payload, () => {
      entry.unacked -= 1;
      entry.since = Date.now();
      acks.add(recipient, payload.seq, payload.occurredAt);
    });
  }

  /**
   * A live notification for one local socket. Sent at once when it is the next seq; held when the socket is
   * catching up; a seq beyond the next one (another node's notification overtook an earlier one, or a replay is
   * under way) makes the socket catch up from the table first. A seq that was sent already is dropped.
   */
  function offer(entry: LocalSocket, recipient: string, seq: number, payload: Omit<NotificationPayload, 'seq'>): void {
    if (seq <= entry.sent) return;
    if (entry.waiting !== undefined) {
      entry.waiting.set(seq, payload);
      return;
    }
    if (seq === entry.sent + 1) {
      deliver(entry, recipient, { ...payload, seq });
      return;
    }
    entry.waiting = new Map([[seq, payload]]);
    drain(entry).catch((error: unknown) => catchUpFailed(entry, error));
  }

  /**
   * Sends the stored rows in (sent, upTo] in seq order; returns how many. Rows up to a committed seq are all
   * committed (the recipient's counter row serialises the writers), so a seq missing there never comes.
   */
  async function catchUp(entry: LocalSocket, upTo: number): Promise<number> {
    const { recipient } = entry.socket.data;
    let sent = 0;
    while (entry.sent < upTo && entry.socket.connected) {
      const page = await notificationsAfter(pool, recipient, entry.sent, config.NOTIFIER_REPLAY_PAGE);
      const rows = page.filter((row) => row.seq <= upTo);
      for (const row of rows) deliver(entry, recipient, { ...(row.payload as Omit<NotificationPayload, 'seq'>), seq: row.seq });
      sent += rows.length;
      if (rows.length < config.NOTIFIER_REPLAY_PAGE) break;
    }
    if (entry.sent < upTo) entry.sent = upTo;
    return sent;
  }

  /** Sends what waits, in seq order, catching up from the table over any gap; then the socket is live again. */
  async function drain(entry: LocalSocket): Promise<void> {
    const { recipient } = entry.socket.data;
    for (;;) {
      const waiting = entry.waiting;
      if (waiting === undefined || !entry.socket.connected) return;
      for (const seq of [...waiting.keys()].sort((a, b) => a - b)) {
        const payload = waiting.get(seq);
        if (seq > entry.sent + 1 || payload === undefined) break;
        waiting.delete(seq);
        if (seq === entry.sent + 1) deliver(entry, recipient, { ...payload, seq });
      }
      if (waiting.size === 0) {
        entry.waiting = undefined;
        return;
      }
      await catchUp(entry, Math.min(...waiting.keys()) - 1);
    }
  }

  function catchUpFailed(entry: LocalSocket, error: unknown): void {
    logger.error(
      { err: error, socketId: entry.socket.id, recipient: entry.socket.data.recipient },
      'reading missed notifications failed; disconnecting so the client reconnects with its lastSeq',
    );
    entry.socket.disconnect(true);
  }

  /** The order-room check: a party per the orders table, read again with backoff while the row does not say so. */
  async function isPartyOnceVisible(socket: NotifierSocket, orderId: string): Promise<boolean> {
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      if (await isOrderParty(pool, socket.data.recipient, orderId)) return true;
      if (attempt >= visibilityAttempts || !socket.connected) {
        logger.debug(
          { socketId: socket.id, recipient: socket.data.recipient, orderId, attempts: attempt, waitedMs: Date.now() - started },
          'join_order: not a party of the order after every read',
        );
        return false;
      }
      await sleep(backoffDelay(attempt, options.visibility.backoff));
    }
  }

  io.use((socket, next) => {
    const auth = handshakeAuth.safeParse(socket.handshake.auth);
    if (!auth.success) {
      next(
        Object.assign(new Error(`unauthorized: ${auth.error.issues[0]?.message ?? 'auth.token is required'}`), {
          data: { code: 'UNAUTHENTICATED' },
        }),
      );
      return;
    }
    verify(auth.data.token).then(
      (principal) => {
        socket.data = { principal, recipient: recipientOf(principal), lastSeq: auth.data.lastSeq };
        next();
      },
      (error: unknown) => {
        const detail = error instanceof Error ? error.message : String(error);
        next(Object.assign(new Error(`unauthorized: ${detail}`), { data: { code: 'UNAUTHENTICATED' } }));
      },
    );
  });

  io.on('connection', (socket) => {
    const { principal, recipient } = socket.data;
    const log = logger.child({ socketId: socket.id, recipient });
    guardEventRate(socket, config.NOTIFIER_SOCKET_EVENTS_PER_SECOND, () =>
      log.warn({ limit: config.NOTIFIER_SOCKET_EVENTS_PER_SECOND }, 'socket sent more events per second than allowed; disconnecting it'),
    );
    const expiry = armExpiry(socket);
    // Registered before the inbox is read (below): every notification committed after that read reaches offer(),
    // which holds it until the replay is sent.
    const entry: LocalSocket = { socket, unacked: 0, since: 0, sent: socket.data.lastSeq, waiting: new Map() };
    const entries = inboxes.get(recipient);
    if (entries === undefined) inboxes.set(recipient, new Set([entry]));
    else entries.add(entry);
    socket.on('disconnect', () => {
      clearTimeout(expiry.timer);
      const entries = inboxes.get(recipient);
      entries?.delete(entry);
      if (entries?.size === 0) inboxes.delete(recipient);
    });

    socket.on('join_order', (orderId, reply) => {
      const answer = typeof reply === 'function' ? reply : () => undefined;
      if (typeof orderId !== 'string' || !UUID.test(orderId)) {
        answer({ ok: false, error: 'orderId must be a UUID' });
        return;
      }
      const allowed = principal.role === 'compliance' ? Promise.resolve(true) : isPartyOnceVisible(socket, orderId);
      allowed.then(
        async (ok) => {
          if (!ok) {
            // The same answer whether the order exists or not: a non-party must not learn about it.
            answer({ ok: false, error: `order ${orderId} was not found` });
            return;
          }
          await socket.join(orderRoom(orderId));
          answer({ ok: true });
        },
        (error: unknown) => {
          log.warn({ err: error, orderId }, 'join_order check failed');
          answer({ ok: false, error: 'temporarily unavailable; try again' });
        },
      );
    });
    socket.on('leave_order', (orderId) => {
      if (typeof orderId === 'string') void socket.leave(orderRoom(orderId));
    });

    const rooms = principal.role === 'merchant' ? [roomOf(recipient), BOOK_ROOM] : [roomOf(recipient)];
    Promise.resolve(socket.join(rooms))
      .then(() => replay(entry))
      .catch((error: unknown) => catchUpFailed(entry, error));
  });

  // Notifications another node stored, for this node's sockets.
  if (!local) io.on('notification', (recipient, seq, payload) => offerLocal(recipient, seq, payload));

  function offerLocal(recipient: string, seq: number, payload: Omit<NotificationPayload, 'seq'>): void {
    const entries = inboxes.get(recipient);
    if (entries === undefined) return;
    for (const entry of entries) offer(entry, recipient, seq, payload);
  }

  function armExpiry(socket: NotifierSocket): { timer: NodeJS.Timeout | undefined } {
    const holder: { timer: NodeJS.Timeout | undefined } = { timer: undefined };
    const exp = socket.data.principal.exp;
    if (exp === undefined) return holder;
    const arm = (): void => {
      const left = exp * 1000 - Date.now();
      if (left <= 0) {
        socket.emit('session_expired');
        socket.disconnect(true);
        return;
      }
      holder.timer = setTimeout(arm, Math.min(left, MAX_TIMER));
    };
    arm();
    return holder;
  }

  /** Replays everything above the handshake's lastSeq up to the recipient's last seq, then `synced`, then what waited. */
  async function replay(entry: LocalSocket): Promise<void> {
    const upTo = await lastNotificationSeq(pool, entry.socket.data.recipient);
    const replayed = await catchUp(entry, upTo);
    metrics.replayed.inc(replayed);
    entry.socket.emit('synced', { seq: Math.max(upTo, 0), replayed });
    await drain(entry);
  }

  return {
    io,
    emitNotification(recipient, seq, payload) {
      metrics.emitted.inc({ kind: 'notification' });
      offerLocal(recipient, seq, payload);
      if (!local) io.serverSideEmit('notification', recipient, seq, payload);
    },
    emitToOrderRoom(orderId, recipients, payload) {
      // Nobody watches most orders: without an adapter the room's absence here is the whole answer.
      if (local && !io.of('/').adapter.rooms.has(orderRoom(orderId))) return;
      metrics.emitted.inc({ kind: 'order_room' });
      // Watchers do not acknowledge (nothing is stored for them): the same event, typed without the ack.
      const watchers = io.to(orderRoom(orderId)).except(recipients.map(roomOf)) as unknown as BroadcastOperator<
        { notification: (payload: NotificationPayload) => void },
        SocketData
      >;
      watchers.emit('notification', { ...payload, seq: 0 });
    },
    emitBook(payload) {
      metrics.emitted.inc({ kind: 'book' });
      io.to(BOOK_ROOM).emit('book', payload);
    },
    connectedSockets: () => io.of('/').sockets.size,
    async close() {
      clearInterval(sweep);
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
      });
      await acks.flush();
    },
  };
}
