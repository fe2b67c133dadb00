import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNotifier, type BookPayload, type BookSnapshot, type NotificationPayload, type NotifierClient } from '@settle/contracts';
import { createPool, type Pool } from '@settle/db';
import type { Relay } from '@settle/relay';
import { createTestDatabase, testAddress, testTxHash, type TestDatabase } from '@settle/testkit';
import { startNotifier, type Notifier } from '../src/notifier';
import { spawnApi, startPipelineRelay, type ApiProcess } from './pipeline';
import { createTopics, sleep, testConfig, waitFor } from './support';

/**
 * The whole path: HTTP → API (order + event + outbox in one transaction) → WAL → relay → Kafka → notifier →
 * socket. The API runs as its own process (apps/api/src/main.ts), relay and notifier in-process.
 */
describe('end to end: an order released over the API reaches its merchant socket', () => {
  let db: TestDatabase;
  let pool: Pool;
  let topic: string;
  let relay: Relay;
  let notifier: Notifier;
  let api: ApiProcess;

  beforeAll(async () => {
    db = await createTestDatabase('notifier_e2e');
    pool = createPool(db.url, { max: 3 });
    ({ events: topic = '' } = await createTopics('e2e', [{ name: 'events', numPartitions: 3 }]));
    relay = await startPipelineRelay(pool, db.url, topic, 'e2e');
    notifier = await startNotifier({ config: testConfig(db.url, topic), port: 0, host: '127.0.0.1' });
    api = await spawnApi(db.url);
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
    await notifier?.stop();
    await relay?.stop();
    await pool?.end();
    await db?.drop();
  });

  const call = <T>(method: string, route: string, token: string | undefined, body?: unknown, headers?: Record<string, string>) =>
    api.call<T>(method, route, token, body, headers);
  const devToken = (role: 'user' | 'merchant', id: string): Promise<string> => api.devToken(role, id);

  function connect(
    token: string,
    fetchBook: () => Promise<BookSnapshot>,
    sink: { shown: NotificationPayload[]; raw: NotificationPayload[]; book: BookPayload[]; snapshots: number },
  ): Promise<NotifierClient> {
    const client = connectNotifier({
      url: `http://127.0.0.1:${notifier.port}`,
      token,
      fetchBook,
      onNotification: (payload) => sink.shown.push(payload),
      onBook: (payload) => sink.book.push(payload),
      onBookSnapshot: () => {
        sink.snapshots += 1;
      },
      socketOptions: { reconnection: false, forceNew: true },
    });
    client.socket.on('notification', (payload) => sink.raw.push(payload));
    return new Promise((resolve, reject) => {
      client.socket.once('synced', () => resolve(client));
      client.socket.once('connect_error', reject);
    });
  }

  it("a released order reaches its merchant's socket as completed with the new orderVersion; another merchant receives nothing private", async () => {
    const merchantToken = await devToken('merchant', 'm-e2e');
    const otherToken = await devToken('merchant', 'm-e2e-other');
    const userToken = await devToken('user', 'u-e2e');
    const book = (token: string) => async (): Promise<BookSnapshot> => (await call<BookSnapshot>('GET', '/v1/orders/book', token)).body;
    const merchant = { shown: [] as NotificationPayload[], raw: [] as NotificationPayload[], book: [] as BookPayload[], snapshots: 0 };
    const other = { shown: [] as NotificationPayload[], raw: [] as NotificationPayload[], book: [] as BookPayload[], snapshots: 0 };
    const clients = [await connect(merchantToken, book(merchantToken), merchant), await connect(otherToken, book(otherToken), other)];
    try {
      await waitFor(() => merchant.snapshots === 1 && other.snapshots === 1, 'the book snapshot over REST on connect');

      const created = await call<{ id: string; orderVersion: number }>('POST', '/v1/orders', userToken, {
        type: 'buy',
        merchantId: 'm-e2e',
        cryptoAmount: '250.00',
        fiatAmount: '918.13',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'bank_transfer',
        buyerWalletAddress: testAddress('notifier-e2e-buyer'),
      });
      expect(created.status).toBe(201);
      const id = created.body.id;
      expect((await call('POST', `/v1/orders/${id}/accept`, merchantToken, {})).status).toBe(200);
      expect(
        (await call('POST', `/v1/orders/${id}/escrow`, merchantToken, { txHash: testTxHash(`notifier-e2e-escrow-${id}`) })).status,
      ).toBe(200);
      expect((await call('POST', `/v1/orders/${id}/payment-sent`, userToken, {})).status).toBe(200);
      const released = await call<{ orderVersion: number; status: string }>(
        'POST',
        `/v1/orders/${id}/release`,
        merchantToken,
        { txHash: testTxHash(`notifier-e2e-release-${id}`) },
        { 'idempotency-key': randomUUID() },
      );
      expect(released.status).toBe(200);
      expect(released.body.status).toBe('completed');

      await waitFor(
        () => merchant.shown.some((n) => n.orderId === id && n.type === 'order.completed'),
        'order.completed on the merchant socket',
      );
      const completed = merchant.shown.find((n) => n.type === 'order.completed');
      expect(completed).toMatchObject({
        orderId: id,
        status: 'completed',
        minimalStatus: 'completed',
        previousStatus: 'payment_sent',
        orderVersion: released.body.orderVersion,
      });
      expect(merchant.shown.map((n) => n.orderVersion)).toEqual([1, 2, 3, 4, 5]);

      // A book order: every merchant gets the public delta once, and the REST snapshot is current to its bookSeq.
      const bookOrder = await call<{ id: string }>('POST', '/v1/orders', userToken, {
        type: 'sell',
        cryptoAmount: '10.00',
        fiatAmount: '36.73',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'upi',
      });
      expect(bookOrder.status).toBe(201);
      await waitFor(() => other.book.length === 1 && merchant.book.length === 1, 'the book delta').catch(async (error: unknown) => {
        // Say where it stopped: not relayed, not consumed, or not shown.
        const state = await pool.query(
          `SELECT (SELECT count(*) FROM outbox WHERE aggregateid = $1)::int AS outbox, (SELECT count(*) FROM book_events WHERE order_id = $1)::int AS book_events,
                  (SELECT count(*) FROM notifications WHERE order_id = $1)::int AS notifications`,
          [bookOrder.body.id],
        );
        throw new Error(
          `${String(error)}; state ${JSON.stringify(state.rows[0])}; book seen ${JSON.stringify([merchant.book.length, other.book.length])}; bookSeq ${JSON.stringify([clients[0]?.bookSeq(), clients[1]?.bookSeq()])}`,
        );
      });
      expect(other.book[0]).toMatchObject({ orderId: bookOrder.body.id, onBook: true });
      const snapshot = (await call<BookSnapshot<{ id: string }>>('GET', '/v1/orders/book', otherToken)).body;
      expect(snapshot.bookSeq).toBe(other.book[0]!.bookSeq);
      expect(snapshot.items.map((item) => item.id)).toContain(bookOrder.body.id);

      await sleep(300);
      expect(other.raw).toEqual([]);
    } finally {
      for (const client of clients) client.close();
    }
  });
});
