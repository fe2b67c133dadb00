import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connectNotifier, type BookPayload, type BookSnapshot, type NotificationPayload } from '@settle/contracts';
import { toBookSummary } from '@settle/domain';
import { OrderStory, sleep, useNotifierFixture, tokenFor, txHash, waitFor } from './support';

describe('the contracts client helper (connectNotifier) against a real notifier', () => {
  const fx = useNotifierFixture('notifier_client');

  it('reconnects by itself after the connection drops and gets exactly the missed notifications, in order, once', async () => {
    const shown: NotificationPayload[] = [];
    const raw: NotificationPayload[] = [];
    const client = connectNotifier({
      url: `http://127.0.0.1:${fx.notifier.port}`,
      token: () => tokenFor('merchant', 'm-reconnect'),
      onNotification: (payload) => shown.push(payload),
      socketOptions: { forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 500 },
    });
    client.socket.on('notification', (payload) => raw.push(payload));
    try {
      await new Promise<void>((resolve) => client.socket.once('synced', () => resolve()));
      const story = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-reconnect' }, { role: 'user', id: 'u-reconnect' });
      await fx.producer.publish(fx.topic, story.events);
      await waitFor(() => shown.length === 1, 'order.created');

      // The network drops (not a server kick): socket.io reconnects, the helper sends its lastSeq.
      const reconnected = new Promise<void>((resolve) => client.socket.io.once('reconnect', () => resolve()));
      client.socket.io.engine.close();
      const m = { role: 'merchant' as const, id: 'm-reconnect' };
      await story.step(fx.pool, { action: 'accept' }, m);
      await story.step(fx.pool, { action: 'lock_escrow', txHash: txHash() }, m);
      await fx.producer.publish(fx.topic, story.events.slice(1));
      await reconnected;
      await waitFor(() => shown.length === 3, 'the missed transitions');
      await sleep(300);
      expect(shown.map((n) => [n.seq, n.orderVersion])).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
      ]);
      expect(client.lastSeq()).toBe(3);
      // Whatever arrived twice (live and replayed around the reconnect) was shown once.
      expect(new Set(raw.map((n) => n.seq))).toEqual(new Set([1, 2, 3]));
    } finally {
      client.close();
    }
  });

  it('drops anything at or below the orderVersion it has shown, even with a new seq', async () => {
    const shown: NotificationPayload[] = [];
    const again = connectNotifier({
      url: `http://127.0.0.1:${fx.notifier.port}`,
      token: await tokenFor('merchant', 'm-versions'),
      onNotification: (payload) => shown.push(payload),
      socketOptions: { forceNew: true, reconnection: false },
    });
    try {
      await new Promise<void>((resolve) => again.socket.once('synced', () => resolve()));
      const story = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-versions' }, { role: 'user', id: 'u-versions' });
      await story.step(fx.pool, { action: 'accept' }, { role: 'merchant', id: 'm-versions' });
      const [created, accepted] = story.events;
      const payload = (event: typeof created, seq: number): NotificationPayload => ({
        ...(JSON.parse(JSON.stringify(event)) as Omit<NotificationPayload, 'seq'>),
        seq,
      });
      // Out of order on the wire: version 2 first, then version 1 with a higher seq (another node's late emit).
      fx.notifier.hub.emitNotification('merchant:m-versions', 101, payload(accepted, 101));
      fx.notifier.hub.emitNotification('merchant:m-versions', 102, payload(created, 102));
      fx.notifier.hub.emitNotification('merchant:m-versions', 101, payload(accepted, 101));
      await sleep(500);
      expect(shown.map((n) => n.orderVersion)).toEqual([2]);
    } finally {
      again.close();
    }
  });

  it('re-reads the book over REST on connect and on a bookSeq gap, and drops book deltas it already has', async () => {
    const snapshots: number[] = [];
    const applied: number[] = [];
    let bookSeq = 10;
    const fetchBook = async (): Promise<BookSnapshot> => {
      snapshots.push(bookSeq);
      return { items: [], bookSeq };
    };
    const client = connectNotifier({
      url: `http://127.0.0.1:${fx.notifier.port}`,
      token: await tokenFor('merchant', 'm-book-reader'),
      fetchBook,
      onBook: (payload) => applied.push(payload.bookSeq),
      socketOptions: { forceNew: true, reconnection: false },
    });
    try {
      await waitFor(() => snapshots.length === 1 && client.bookSeq() === 10, 'the snapshot on connect');
      const story = await OrderStory.create(fx.pool, { type: 'sell' }, { role: 'user', id: 'u-book-reader' });
      const delta = (seq: number): BookPayload => ({
        bookSeq: seq,
        type: 'order.created',
        eventId: randomUUID(),
        orderId: story.order.id,
        orderVersion: 1,
        status: 'open',
        minimalStatus: 'open',
        previousStatus: null,
        occurredAt: story.order.createdAt,
        onBook: true,
        order: toBookSummary(story.order),
      });
      fx.notifier.hub.emitBook(delta(10)); // already in the snapshot: dropped
      fx.notifier.hub.emitBook(delta(11)); // next: applied
      await waitFor(() => applied.length === 1, 'delta 11');
      bookSeq = 13;
      fx.notifier.hub.emitBook(delta(13)); // 12 is missing: re-read the book instead of applying
      await waitFor(() => snapshots.length === 2, 'the re-read after the gap');
      fx.notifier.hub.emitBook(delta(14));
      await waitFor(() => applied.length === 2, 'delta 14');
      expect(applied).toEqual([11, 14]);
      expect(snapshots).toEqual([10, 13]);
      expect(client.bookSeq()).toBe(14);
    } finally {
      client.close();
    }
  });
});
