import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type {
  BookPayload,
  ClientToServerEvents,
  JoinOrderResult,
  NotificationPayload,
  ServerToClientEvents,
  SyncedPayload,
} from './socket';

/** What `GET /v1/orders/book` answers: the open book orders and the bookSeq they are current to. */
export interface BookSnapshot<Item = unknown> {
  items: Item[];
  bookSeq: number;
}

export interface NotifierClientOptions<BookItem = unknown> {
  /** e.g. `http://127.0.0.1:3001` */
  url: string;
  /** The JWT, or a function asked on every (re)connect (so a refreshed token is used). */
  token: string | (() => string | Promise<string>);
  /** The highest seq already held (e.g. from storage). @default 0 */
  lastSeq?: number;
  /** Highest orderVersion already shown per order; anything at or below is dropped. */
  orderVersions?: Iterable<[string, number]>;
  /** Called once per notification that is newer than anything shown for its order. */
  onNotification?: (payload: NotificationPayload) => void;
  /** Called for each book delta in bookSeq order (after a snapshot). */
  onBook?: (payload: BookPayload) => void;
  /** Re-reads the book over REST (`GET /v1/orders/book`); called on (re)connect and on a bookSeq gap. */
  fetchBook?: () => Promise<BookSnapshot<BookItem>>;
  onBookSnapshot?: (snapshot: BookSnapshot<BookItem>) => void;
  /** The replay after a (re)connect finished. */
  onSynced?: (payload: SyncedPayload) => void;
  /** connect_error (e.g. a refused token), a failed book fetch, or a session that expired. */
  onError?: (error: Error) => void;
  /** Extra socket.io-client options. @default websocket transport, automatic reconnection */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

export interface NotifierClient {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  /** The seq a reconnect will ask to continue after (every seq at or below it was received). */
  lastSeq(): number;
  /** The last bookSeq applied; undefined before the first snapshot. */
  bookSeq(): number | undefined;
  /** Highest orderVersion shown per order. */
  orderVersion(orderId: string): number | undefined;
  joinOrder(orderId: string): Promise<JoinOrderResult>;
  leaveOrder(orderId: string): void;
  close(): void;
}

/**
 * Connects to the notifier with `{ token, lastSeq }`, reconnects with the highest contiguous seq received,
 * acknowledges every notification, drops anything at or below the last orderVersion shown per order, and keeps
 * the book current: snapshot over REST on (re)connect and on a bookSeq gap, deltas in between.
 */
export function connectNotifier<BookItem = unknown>(options: NotifierClientOptions<BookItem>): NotifierClient {
  let lastSeq = options.lastSeq ?? 0;
  // Seqs received above lastSeq while an earlier one is still on its way (two notifier nodes may emit out of order).
  const ahead = new Set<number>();
  const versions = new Map<string, number>(options.orderVersions ?? []);
  let bookSeq: number | undefined;
  let bookLoading: Promise<void> | undefined;
  let pendingBook: BookPayload[] = [];

  const fail = (error: unknown): void => options.onError?.(error instanceof Error ? error : new Error(String(error)));

  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(options.url, {
    transports: ['websocket'],
    ...options.socketOptions,
    auth: (send: (auth: object) => void) => {
      const token = typeof options.token === 'string' ? options.token : options.token();
      Promise.resolve(token).then(
        (value) => send({ token: value, lastSeq }),
        (error: unknown) => {
          fail(error);
          send({ token: '', lastSeq });
        },
      );
    },
  });

  const advance = (): void => {
    while (ahead.delete(lastSeq + 1)) lastSeq += 1;
    for (const seq of ahead) if (seq <= lastSeq) ahead.delete(seq);
  };

  socket.on('notification', (payload, ack) => {
    if (typeof ack === 'function') ack(true);
    if (payload.seq > 0) {
      if (payload.seq <= lastSeq || ahead.has(payload.seq)) return;
      ahead.add(payload.seq);
      advance();
    }
    const shown = versions.get(payload.orderId);
    if (shown !== undefined && payload.orderVersion <= shown) return;
    versions.set(payload.orderId, payload.orderVersion);
    options.onNotification?.(payload);
  });

  socket.on('synced', (payload) => {
    // Everything up to payload.seq was replayed: seqs below it that never arrived were cleaned up long ago.
    if (payload.seq > lastSeq) lastSeq = payload.seq;
    advance();
    options.onSynced?.(payload);
  });

  const applyBook = (payload: BookPayload): void => {
    if (bookSeq === undefined) return;
    if (payload.bookSeq <= bookSeq) return;
    if (payload.bookSeq !== bookSeq + 1) {
      void loadBook();
      return;
    }
    bookSeq = payload.bookSeq;
    options.onBook?.(payload);
  };

  const loadBook = (): Promise<void> => {
    if (options.fetchBook === undefined) return Promise.resolve();
    if (bookLoading !== undefined) return bookLoading;
    pendingBook = [];
    const fetchBook = options.fetchBook;
    bookLoading = (async () => {
      try {
        const snapshot = await fetchBook();
        bookSeq = snapshot.bookSeq;
        options.onBookSnapshot?.(snapshot);
      } catch (error) {
        fail(error);
      } finally {
        bookLoading = undefined;
      }
      const buffered = pendingBook.sort((a, b) => a.bookSeq - b.bookSeq);
      pendingBook = [];
      for (const payload of buffered) applyBook(payload);
    })();
    return bookLoading;
  };

  socket.on('book', (payload) => {
    if (options.fetchBook === undefined) {
      // No snapshot source: pass deltas through in order, dropping repeats.
      if (bookSeq !== undefined && payload.bookSeq <= bookSeq) return;
      bookSeq = payload.bookSeq;
      options.onBook?.(payload);
      return;
    }
    if (bookLoading !== undefined) pendingBook.push(payload);
    else applyBook(payload);
  });

  socket.on('connect', () => {
    void loadBook();
  });
  socket.on('connect_error', (error) => fail(error));
  socket.on('session_expired', () => fail(new Error('the session expired; connect with a new token')));

  return {
    socket,
    lastSeq: () => lastSeq,
    bookSeq: () => bookSeq,
    orderVersion: (orderId) => versions.get(orderId),
    joinOrder: (orderId) =>
      socket
        .timeout(10_000)
        .emitWithAck('join_order', orderId)
        .catch((error: unknown) => ({ ok: false as const, error: String(error) })),
    leaveOrder: (orderId) => {
      socket.emit('leave_order', orderId);
    },
    close: () => {
      socket.close();
    },
  };
}
