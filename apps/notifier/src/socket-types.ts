import type { Principal } from '@settle/auth';
import type { ClientToServerEvents, NotificationPayload, ServerToClientEvents } from '@settle/contracts';
import type { Server, Socket } from 'socket.io';

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
export type NotifierSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
