import type http from 'node:http';
import type { TokenVerifier } from '@settle/auth';
import type { NotifierConfig } from '@settle/config';
import type { BookPayload, NotificationPayload } from '@settle/contracts';
import { isOrderParty, type Pool } from '@settle/db';
import type { Logger } from '@settle/observability';
import { Server, type BroadcastOperator } from 'socket.io';
import { backoffDelay, sleep, type BackoffPolicy } from '@settle/backoff';
import { Inboxes, type LocalSocket } from './inboxes';
import type { NotifierMetrics } from './metrics';
import { armExpiry, authenticate, guardEventRate, safeVerifier } from './socket-auth';
import type { NotifierServer, NotifierSocket, SocketData } from './socket-types';

export type { InterServerEvents, NotifierServer, SocketData } from './socket-types';

/** The merchants' order-book room. */
export const BOOK_ROOM = 'book';
/** The room of a recipient key (`compliance:compliance` → `compliance`). */
export const roomOf = (recipient: string): string => (recipient === 'compliance:compliance' ? 'compliance' : recipient);
export const orderRoom = (orderId: string): string => `order:${orderId}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
  config: NotifierConfig;
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
 * socket.io on the notifier's HTTP server (default path): the JWT is verified in `io.use` (socket-auth.ts); a socket
 * joins only its own inbox room, the book room (merchants) and order rooms it is a party of; it gets every
 * notification above its `lastSeq` replayed in order, then `synced`, then live ones (inboxes.ts), each seq once and in
 * increasing order; expired tokens are disconnected.
 */
export function createSocketHub(server: http.Server, options: SocketHubOptions): SocketHub {
  const { config, pool, metrics, logger } = options;
  const io = socketServer(server, config);
  if (options.adapter !== undefined) io.adapter(options.adapter);
  // A notification always goes straight to the recipient's sockets in this process (no room lookup, no per-emit
  // timer), so each socket decides what it may be sent yet (Inboxes.offer). With an adapter (Redis) the other nodes
  // get it as a server-side event and do the same for their sockets.
  const local = options.adapter === undefined;
  const inboxes = new Inboxes({
    pool,
    metrics,
    logger,
    ackTimeoutMs: config.NOTIFIER_ACK_TIMEOUT_MS,
    replayPage: config.NOTIFIER_REPLAY_PAGE,
  });
  const joinCheck = orderRoomCheck(pool, logger, options.visibility);
  authenticate(io, options.verifier ?? safeVerifier(config));
  io.on('connection', (socket) => {
    const { entry } = connected(socket, inboxes, joinCheck, config, logger);
    const rooms = socket.data.principal.role === 'merchant' ? [roomOf(socket.data.recipient), BOOK_ROOM] : [roomOf(socket.data.recipient)];
    Promise.resolve(socket.join(rooms))
      .then(() => inboxes.replay(entry))
      .catch((error: unknown) => inboxes.catchUpFailed(entry, error));
  });
  // Notifications another node stored, for this node's sockets.
  if (!local) io.on('notification', (recipient, seq, payload) => inboxes.offerLocal(recipient, seq, payload));

  return {
    io,
    emitNotification(recipient, seq, payload) {
      metrics.emitted.inc({ kind: 'notification' });
      inboxes.offerLocal(recipient, seq, payload);
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
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
      });
      await inboxes.close();
    },
  };
}

/** The socket.io server: its transports, timeouts and size limit, and who may connect. */
function socketServer(server: http.Server, config: NotifierConfig): NotifierServer {
  // perMessageDeflate stays off (engine.io's default): a ~3 KB JSON payload costs more CPU to deflate than loopback
  // or LAN bytes do.
  const origins = new Set(config.NOTIFIER_ALLOWED_ORIGINS);
  return new Server(server, {
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
}

/** A connected socket: its event-rate guard and token expiry, its inbox registration, and its order-room events. */
function connected(
  socket: NotifierSocket,
  inboxes: Inboxes,
  isParty: (socket: NotifierSocket, orderId: string) => Promise<boolean>,
  config: NotifierConfig,
  logger: Logger,
): { entry: LocalSocket } {
  const { principal, recipient } = socket.data;
  const log = logger.child({ socketId: socket.id, recipient });
  guardEventRate(socket, config.NOTIFIER_SOCKET_EVENTS_PER_SECOND, () =>
    log.warn({ limit: config.NOTIFIER_SOCKET_EVENTS_PER_SECOND }, 'socket sent more events per second than allowed; disconnecting it'),
  );
  const expiry = armExpiry(socket);
  const { entry, unregister } = inboxes.register(socket);
  socket.on('disconnect', () => {
    clearTimeout(expiry.timer);
    unregister();
  });
  socket.on('join_order', (orderId, reply) => {
    const answer = typeof reply === 'function' ? reply : () => undefined;
    if (typeof orderId !== 'string' || !UUID.test(orderId)) {
      answer({ ok: false, error: 'orderId must be a UUID' });
      return;
    }
    const allowed = principal.role === 'compliance' ? Promise.resolve(true) : isParty(socket, orderId);
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
  return { entry };
}

/** The order-room check: a party per the orders table, read again with backoff while the row does not say so. */
function orderRoomCheck(
  pool: Pool,
  logger: Logger,
  visibility: SocketHubOptions['visibility'],
): (socket: NotifierSocket, orderId: string) => Promise<boolean> {
  const attempts = visibility.attempts ?? 5;
  return async (socket, orderId) => {
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      if (await isOrderParty(pool, socket.data.recipient, orderId)) return true;
      if (attempt >= attempts || !socket.connected) {
        logger.debug(
          { socketId: socket.id, recipient: socket.data.recipient, orderId, attempts: attempt, waitedMs: Date.now() - started },
          'join_order: not a party of the order after every read',
        );
        return false;
      }
      await sleep(backoffDelay(attempt, visibility.backoff));
    }
  };
}
