import { io } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { connectNotifier, type BookPayload } from '@settle/contracts';
import { currentBookSeq } from '@settle/db';
import { testAddress } from '@settle/testkit';
import { connectClient, OrderStory, sleep, useNotifierFixture, tokenFor, waitFor } from './support';

describe('order book broadcast and socket authorization', () => {
  const fx = useNotifierFixture('notifier_book');

  const count = async (sql: string): Promise<number> => Number((await fx.pool.query<{ n: string }>(sql)).rows[0]?.n);

  it('a new book order reaches every connected merchant as `book` once with consecutive bookSeq; 1,000 merchants online add no notification rows', async () => {
    const merchants = 1_000;
    const books: BookPayload[][] = [];
    const clients = [];
    const token = (i: number): Promise<string> => tokenFor('merchant', `m-book-${i}`);
    // 1,000 real socket.io connections, opened in waves so two shared cores keep up.
    for (let start = 0; start < merchants; start += 100) {
      const wave = await Promise.all(
        Array.from({ length: Math.min(100, merchants - start) }, async (_, k) => {
          const received: BookPayload[] = [];
          const client = connectNotifier({
            url: `http://127.0.0.1:${fx.notifier.port}`,
            token: await token(start + k),
            onBook: (payload) => received.push(payload),
            socketOptions: { reconnection: false, forceNew: true },
          });
          await new Promise<void>((resolve, reject) => {
            client.socket.once('synced', () => resolve());
            client.socket.once('connect_error', reject);
          });
          return { client, received };
        }),
      );
      for (const entry of wave) {
        clients.push(entry.client);
        books.push(entry.received);
      }
    }
    try {
      expect(fx.notifier.hub.connectedSockets()).toBe(merchants);
      const rowsBefore = await count(`SELECT count(*) AS n FROM notifications`);
      const seqBefore = await currentBookSeq(fx.pool);

      const first = await OrderStory.create(fx.pool, { type: 'sell' }, { role: 'user', id: 'u-book-1' });
      const second = await OrderStory.create(fx.pool, { type: 'sell' }, { role: 'user', id: 'u-book-2' });
      await fx.producer.publish(fx.topic, [first.events[0]!, second.events[0]!]);

      await waitFor(() => books.every((received) => received.length >= 2), 'two book events on every socket', 30_000);
      await sleep(300);
      for (const received of books) {
        expect(received).toHaveLength(2);
        expect(received.map((payload) => payload.bookSeq)).toEqual([seqBefore + 1, seqBefore + 2]);
        expect(received.every((payload) => payload.onBook && payload.type === 'order.created')).toBe(true);
        // The public summary only: no parties, wallets or payment details.
        expect(Object.keys(received[0]!.order)).not.toContain('userId');
        expect(Object.keys(received[0]!.order)).not.toContain('paymentDetails');
      }
      expect(books[0]!.map((payload) => payload.orderId).sort()).toEqual([first.order.id, second.order.id].sort());
      // Only the two creators (users) got an inbox row; no merchant did.
      expect(await count(`SELECT count(*) AS n FROM notifications`)).toBe(rowsBefore + 2);
      expect(await count(`SELECT count(*) AS n FROM notifications WHERE recipient LIKE 'merchant:%'`)).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM book_events`)).toBe(2);
      expect(await currentBookSeq(fx.pool)).toBe(seqBefore + 2);
    } finally {
      for (const client of clients) client.close();
    }
  });

  it('an order leaving the book is a book delta for merchants and a private notification for its parties only', async () => {
    const taker = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-taker'));
    const other = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-other'));
    const otherBook: BookPayload[] = [];
    other.socket.on('book', (payload) => otherBook.push(payload));
    try {
      const story = await OrderStory.create(fx.pool, { type: 'sell' }, { role: 'user', id: 'u-leaving' });
      await story.step(
        fx.pool,
        { action: 'accept', walletAddress: testAddress('notifier-test-taker') },
        { role: 'merchant', id: 'm-taker' },
      );
      await fx.producer.publish(fx.topic, story.events);
      await waitFor(() => otherBook.length === 2, 'entered and left the book');
      expect(otherBook.map((payload) => payload.onBook)).toEqual([true, false]);
      expect(otherBook[1]!.bookSeq).toBe(otherBook[0]!.bookSeq + 1);
      await waitFor(() => taker.shown.some((n) => n.type === 'order.accepted'), 'the accept for the taker');
      await sleep(200);
      expect(other.raw).toEqual([]);
    } finally {
      taker.close();
      other.close();
    }
  });

  it('a socket with a bad, expired or missing token is refused', async () => {
    const attempt = async (auth: Record<string, unknown>): Promise<string> => {
      const client = io(`http://127.0.0.1:${fx.notifier.port}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth });
      try {
        return await new Promise<string>((resolve, reject) => {
          client.once('connect', () => reject(new Error('connected')));
          client.once('connect_error', (error) => resolve(error.message));
        });
      } finally {
        client.close();
      }
    };
    expect(await attempt({ token: 'not-a-jwt', lastSeq: 0 })).toMatch(/^unauthorized: the token is invalid/);
    expect(await attempt({ token: await tokenFor('merchant', 'm-late', -10), lastSeq: 0 })).toMatch(/^unauthorized: the token has expired/);
    expect(await attempt({ lastSeq: 0 })).toMatch(/^unauthorized: auth.token is required/);
    const forged = (await tokenFor('merchant', 'm-forged')).replace(/\.[^.]+$/, '.c2lnbmF0dXJl');
    expect(await attempt({ token: forged })).toMatch(/^unauthorized/);
  });

  it('a socket whose token expires during the session is told and disconnected', async () => {
    const client = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-short', 2));
    let expired = false;
    client.socket.on('session_expired', () => {
      expired = true;
    });
    await waitFor(() => !client.socket.connected, 'the disconnect', 10_000);
    expect(expired).toBe(true);
    client.close();
  });

  it("a merchant cannot join another merchant's order room; a party and compliance can", async () => {
    const story = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-owner' }, { role: 'user', id: 'u-owner' });
    const owner = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-owner'));
    const intruder = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-intruder'));
    const compliance = await connectClient(fx.notifier.port, await tokenFor('compliance', 'c-1'));
    try {
      await fx.producer.publish(fx.topic, story.events);
      await waitFor(() => owner.shown.length === 1, 'the owner notification');
      expect(await intruder.joinOrder(story.order.id)).toEqual({ ok: false, error: `order ${story.order.id} was not found` });
      expect(await intruder.joinOrder('not-a-uuid')).toEqual({ ok: false, error: 'orderId must be a UUID' });
      expect(await owner.joinOrder(story.order.id)).toEqual({ ok: true });
      expect(await compliance.joinOrder(story.order.id)).toEqual({ ok: true });

      await story.step(fx.pool, { action: 'accept' }, { role: 'merchant', id: 'm-owner' });
      await fx.producer.publish(fx.topic, story.events.slice(1));
      // Compliance watches through the order room (seq 0: not an inbox message); the owner gets it once.
      await waitFor(() => compliance.shown.some((n) => n.type === 'order.accepted'), 'the watcher copy');
      expect(compliance.raw.find((n) => n.type === 'order.accepted')?.seq).toBe(0);
      await waitFor(() => owner.shown.length === 2, 'the owner update');
      await sleep(200);
      expect(owner.raw.filter((n) => n.type === 'order.accepted')).toHaveLength(1);
      expect(intruder.raw).toEqual([]);
    } finally {
      owner.close();
      intruder.close();
      compliance.close();
    }
  });
});
