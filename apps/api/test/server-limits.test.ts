import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Harness } from './harness';

/** A raw connection; resolves with what the server sent and how long after the start it closed the connection. */
function rawConnection(url: string): { socket: net.Socket; closed: Promise<{ afterMs: number; received: string }> } {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const started = Date.now();
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => undefined);
  const closed = new Promise<{ afterMs: number; received: string }>((resolve) =>
    socket.on('close', () => resolve({ afterMs: Date.now() - started, received })),
  );
  return { socket, closed };
}

/** Writes `text` one byte a second, the first at once, until the socket closes. */
function dribble(socket: net.Socket, text: string): NodeJS.Timeout {
  let index = 0;
  const next = (): void => {
    if (socket.destroyed || index >= text.length) clearInterval(timer);
    else socket.write(text[(index += 1) - 1] ?? '');
  };
  const timer = setInterval(next, 1_000);
  next();
  return timer;
}

describe('server timeouts', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ API_HEADERS_TIMEOUT_MS: '1500', API_REQUEST_TIMEOUT_MS: '3000' });
  });
  afterAll(() => api?.close());

  it('a slowloris connection (one header byte a second) is answered 408 and closed within API_HEADERS_TIMEOUT_MS', async () => {
    const { socket, closed } = rawConnection(api.url);
    const timer = dribble(socket, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(100)}\r\n\r\n`);
    const { afterMs, received } = await closed;
    clearInterval(timer);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(1_400);
    expect(afterMs).toBeLessThan(2_500);
  });

  it('a slow body (one byte a second) is answered 408 and closed within API_REQUEST_TIMEOUT_MS', async () => {
    const token = await api.token('user', 'u-slow-body');
    const body = JSON.stringify({
      type: 'sell',
      merchantId: 'm-slow',
      cryptoAmount: '100',
      fiatAmount: '367.25',
      fiatCurrency: 'AED',
      rate: '3.6725',
      paymentMethod: 'upi',
    });
    const { socket, closed } = rawConnection(api.url);
    socket.write(
      `POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    const timer = dribble(socket, body);
    const { afterMs, received } = await closed;
    clearInterval(timer);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(2_900);
    expect(afterMs).toBeLessThan(5_000);
    expect((await api.counts()).orders).toBe(0);
  });
});

describe('connection cap', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ API_MAX_CONNECTIONS: '3' });
  });
  afterAll(() => api?.close());

  it('a connection beyond API_MAX_CONNECTIONS is closed unanswered; the ones open keep working', async () => {
    const open = [rawConnection(api.url), rawConnection(api.url), rawConnection(api.url)];
    await Promise.all(open.map(({ socket }) => new Promise((resolve) => socket.once('connect', resolve))));
    // The server counts a connection once it has accepted it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const extra = rawConnection(api.url);
    extra.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect((await extra.closed).received).toBe('');

    const answered = new Promise<string>((resolve) => open[0]?.socket.once('data', (chunk: string) => resolve(chunk)));
    open[0]?.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await answered).toMatch(/^HTTP\/1\.1 200 /);
    for (const { socket } of open) socket.destroy();
  });
});
