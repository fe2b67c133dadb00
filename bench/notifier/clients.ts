/**
 * The client side of bench/notifier, in its own process so the notifier's heap is measured alone: opens N
 * socket.io connections (the real client library), acks every notification, counts what arrives and when.
 */
import { signToken } from '@settle/auth';
import { io, type Socket } from 'socket.io-client';
import { profileWindow } from './profile';

type Command =
  | { cmd: 'connect'; url: string; secret: string; ids: string[]; concurrency: number }
  | { cmd: 'expect'; kind: 'notification' | 'book'; count: number }
  | { cmd: 'collect' }
  | { cmd: 'profile'; dir: string; name: string }
  | { cmd: 'profile-stop' }
  | { cmd: 'close' };

const now = (): number => performance.timeOrigin + performance.now();
const sockets: Socket[] = [];
let stopProfile: (() => Promise<string>) | undefined;
let expected: { kind: 'notification' | 'book'; count: number; seen: number; first: number; last: number } | undefined;
const completedAt = new Map<string, number>();

function count(kind: 'notification' | 'book'): void {
  if (expected?.kind !== kind) return;
  const at = now();
  if (expected.seen === 0) expected.first = at;
  expected.seen += 1;
  expected.last = at;
  if (expected.seen === expected.count)
    process.send?.({ type: 'received', count: expected.seen, first: expected.first, last: expected.last });
}

function open(url: string, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token, lastSeq: 0 } });
    socket.on('notification', (payload: { type: string; orderId: string }, ack?: (ok: boolean) => void) => {
      if (typeof ack === 'function') ack(true);
      if (payload.type === 'order.completed') completedAt.set(payload.orderId, now());
      count('notification');
    });
    socket.on('book', () => count('book'));
    socket.once('synced', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

process.on('message', (message: Command) => {
  void (async () => {
    switch (message.cmd) {
      case 'connect': {
        const started = now();
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < message.ids.length) {
            const id = message.ids[next++] as string;
            const token = await signToken({ JWT_SECRET: message.secret, JWT_ISSUER: undefined }, { role: 'merchant', id });
            sockets.push(await open(message.url, token));
          }
        };
        await Promise.all(Array.from({ length: message.concurrency }, worker));
        process.send?.({ type: 'connected', count: sockets.length, ms: now() - started });
        break;
      }
      case 'expect':
        expected = { kind: message.kind, count: message.count, seen: 0, first: 0, last: 0 };
        process.send?.({ type: 'expecting' });
        break;
      case 'profile':
        stopProfile = await profileWindow(message.dir, message.name);
        process.send?.({ type: 'profiling' });
        break;
      case 'profile-stop':
        await stopProfile?.();
        stopProfile = undefined;
        process.send?.({ type: 'profiled' });
        break;
      case 'collect':
        process.send?.({ type: 'times', entries: [...completedAt.entries()] });
        break;
      case 'close':
        for (const socket of sockets.splice(0)) socket.close();
        completedAt.clear();
        process.send?.({ type: 'closed' });
        break;
    }
  })().catch((error: unknown) => {
    process.send?.({ type: 'error', error: String(error) });
  });
});
process.send?.({ type: 'ready' });
