import { z } from './zod';
import { eventType, isoTime, status, traceparent, uuid } from './common';
import { bookSummary, orderEvent } from './orders';

/**
 * The notifier's socket.io wire contract (port 3001 / NOTIFIER_PORT, default path `/socket.io`).
 * Handshake: `auth: { token, lastSeq }`. Other tools are written against these names: change them only with a
 * new name beside the old one.
 */
export const SOCKET_EVENTS = {
  /** server → client: one private notification, acknowledged by the client (the ack sets delivered_at). */
  notification: 'notification',
  /** server → merchants' book room: a public order-book delta with a book-wide `bookSeq`. */
  book: 'book',
  /** server → client: the replay after (re)connect is complete; everything up to `seq` was sent. */
  synced: 'synced',
  /** server → client: the token expired; the server disconnects the socket right after. */
  sessionExpired: 'session_expired',
  /** client → server: join `order:<id>` (parties of the order and compliance only). */
  joinOrder: 'join_order',
  leaveOrder: 'leave_order',
} as const;

/** The socket.io handshake `auth` object. `lastSeq` is the highest seq the client holds (0 for none). */
export const handshakeAuth = z.object({
  token: z.string({ error: 'auth.token is required' }).min(1, 'auth.token is required'),
  lastSeq: z.coerce.number().int().min(0).default(0),
});
export type HandshakeAuth = z.input<typeof handshakeAuth>;

/**
 * A private notification: the order event plus the recipient's `seq`. `seq` increases per recipient without gaps;
 * `seq: 0` marks a copy sent to an order room (a watcher that is not a recipient): it is not in any inbox.
 * `traceparent` is the trace context of the change (the Kafka message's `ce_traceparent`), when it had one.
 */
export const notificationPayload = orderEvent
  .extend({ seq: z.number().int().min(0), traceparent: traceparent.optional() })
  .openapi('NotificationMessage');
export type NotificationPayload = z.infer<typeof notificationPayload>;

/** A public order-book delta: `onBook` is true when the order entered the book, false when it left it. */
export const bookPayload = z
  .object({
    bookSeq: z.number().int().positive(),
    type: eventType,
    eventId: uuid,
    orderId: uuid,
    orderVersion: z.number().int().positive(),
    status,
    minimalStatus: status,
    previousStatus: status.nullable(),
    occurredAt: isoTime,
    onBook: z.boolean(),
    order: bookSummary,
    traceparent: traceparent.optional(),
  })
  .openapi('BookMessage');
export type BookPayload = z.infer<typeof bookPayload>;

export const syncedPayload = z.object({ seq: z.number().int().min(0), replayed: z.number().int().min(0) }).openapi('SyncedMessage');
export type SyncedPayload = z.infer<typeof syncedPayload>;

export type JoinOrderResult = { ok: true } | { ok: false; error: string };

/** Events the notifier emits. */
export interface ServerToClientEvents {
  notification: (payload: NotificationPayload, ack: (received: boolean) => void) => void;
  book: (payload: BookPayload) => void;
  synced: (payload: SyncedPayload) => void;
  session_expired: () => void;
}

/** Events a client may send. */
export interface ClientToServerEvents {
  join_order: (orderId: string, reply: (result: JoinOrderResult) => void) => void;
  leave_order: (orderId: string) => void;
}
