import { randomUUID } from 'node:crypto';
import { io, Manager, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { tokenFor, useNotifierFixture, waitFor } from './support';

const ALLOWED = 'https://desk.settle.example';

/** A raw socket.io client (no helper, no reconnection) with the given Origin header, if any. */
function rawClient(port: number, token: string, origin?: string): Socket {
  return io(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token, lastSeq: 0 },
    ...(origin !== undefined ? { extraHeaders: { origin } } : {}),
  });
}

/** Resolves with 'connected' or the connect_error message. */
const outcome = (socket: Socket): Promise<string> =>
  new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (error) => resolve(`refused: ${error.message}`));
  });

const joinOrder = (socket: Socket, orderId: string): Promise<{ ok: boolean; error?: string }> =>
  new Promise((resolve) => socket.emit('join_order', orderId, (answer: { ok: boolean; error?: string }) => resolve(answer)));

describe('socket guards', () => {
  const fx = useNotifierFixture('notifier_guards', {
    NOTIFIER_ALLOWED_ORIGINS: ALLOWED,
    NOTIFIER_SOCKET_EVENTS_PER_SECOND: '5',
    NOTIFIER_CONNECT_TIMEOUT_MS: '1000',
    NOTIFIER_MAX_MESSAGE_BYTES: '4096',
  });

  it('a page of another origin is refused (websocket and polling); the configured origin and clients without Origin connect', async () => {
    const token = await tokenFor('merchant', 'm-origin');
    const sockets = [
      rawClient(fx.notifier.port, token, 'https://evil.example'),
      rawClient(fx.notifier.port, token, ALLOWED),
      rawClient(fx.notifier.port, token),
    ];
    try {
      expect(await Promise.all(sockets.map(outcome))).toEqual([expect.stringMatching(/^refused/), 'connected', 'connected']);
    } finally {
      for (const socket of sockets) socket.disconnect();
    }
    const polling = (origin: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${fx.notifier.port}/socket.io/?EIO=4&transport=polling`, { headers: { origin } });
    const refused = await polling('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
    const allowed = await polling(ALLOWED);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('a socket flooding client events is disconnected; another socket of the same merchant keeps getting answers', async () => {
    const token = await tokenFor('merchant', 'm-flood');
    const [flooder, calm] = [rawClient(fx.notifier.port, token), rawClient(fx.notifier.port, token)];
    try {
      expect(await Promise.all([outcome(flooder), outcome(calm)])).toEqual(['connected', 'connected']);
      const disconnected = new Promise<string>((resolve) => flooder.once('disconnect', resolve));
      for (let index = 0; index < 50; index += 1) flooder.emit('leave_order', randomUUID());
      expect(await disconnected).toBe('io server disconnect');
      for (let index = 0; index < 3; index += 1)
        expect(await joinOrder(calm, randomUUID())).toEqual({ ok: false, error: expect.stringContaining('was not found') });
      expect(calm.connected).toBe(true);
    } finally {
      flooder.disconnect();
      calm.disconnect();
    }
  });

  it('a message above NOTIFIER_MAX_MESSAGE_BYTES closes its connection', async () => {
    const socket = rawClient(fx.notifier.port, await tokenFor('merchant', 'm-big'));
    try {
      expect(await outcome(socket)).toBe('connected');
      const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      socket.emit('join_order', 'x'.repeat(10_000));
      expect(await disconnected).toBe('transport close');
    } finally {
      socket.disconnect();
    }
  });

  it('a connection that never completes the socket.io handshake is closed after NOTIFIER_CONNECT_TIMEOUT_MS', async () => {
    // The engine.io transport opens, but no namespace CONNECT follows.
    const manager = new Manager(`http://127.0.0.1:${fx.notifier.port}`, {
      transports: ['websocket'],
      reconnection: false,
      autoConnect: false,
      forceNew: true,
    });
    const started = Date.now();
    let closedAfter = -1;
    manager.on('close', () => {
      closedAfter = Date.now() - started;
    });
    manager.open();
    await waitFor(() => closedAfter >= 0, 'the server to close the idle connection', 5_000);
    expect(closedAfter).toBeGreaterThanOrEqual(900);
    expect(closedAfter).toBeLessThan(3_000);
  });
});
