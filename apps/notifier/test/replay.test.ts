import { io } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import type { OrderEvent } from '@settle/domain';
import { OrderStory, sleep, tokenFor, useNotifierFixture, waitFor } from './support';

describe('notifier: a reconnecting socket gets its replay before any live notification', () => {
  // Small replay pages: the replay of a few hundred rows takes many round trips, so live ones arrive meanwhile.
  const fx = useNotifierFixture('notifier_replay', { NOTIFIER_REPLAY_PAGE: '10' });

  const count = async (recipient: string): Promise<number> =>
    Number((await fx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM notifications WHERE recipient = $1`, [recipient])).rows[0]?.n);

  it('live notifications stored during a replay of 400 missed ones arrive after it and after `synced`, every seq once, strictly increasing, no gap', async () => {
    const merchant = 'm-replay';
    const created = (): Promise<OrderStory> =>
      OrderStory.create(fx.pool, { type: 'buy', merchantId: merchant }, { role: 'user', id: 'u-replay' });
    const createdEvents = async (count: number): Promise<OrderEvent[]> => {
      const events: OrderEvent[] = [];
      for (let index = 0; index < count; index += 1) events.push((await created()).events[0]!);
      return events;
    };
    // Seen before: seqs 1..5. Missed while offline: 6..405.
    await fx.producer.publish(fx.topic, await createdEvents(5));
    await waitFor(async () => (await count(`merchant:${merchant}`)) === 5, 'the first five rows');
    const missed = await createdEvents(400);
    await fx.producer.publish(fx.topic, missed);
    await waitFor(async () => (await count(`merchant:${merchant}`)) === 405, 'the 400 missed rows');

    // Live events keep coming from before the connect until after the replay.
    let live = true;
    let published = 0;
    const stream = (async () => {
      while (live) {
        await fx.producer.publish(fx.topic, await createdEvents(1));
        published += 1;
        await sleep(5);
      }
    })();

    const received: Array<{ seq: number; at: number } | { synced: number; at: number }> = [];
    const socket = io(`http://127.0.0.1:${fx.notifier.port}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: await tokenFor('merchant', merchant), lastSeq: 5 },
    });
    socket.on('notification', (payload: { seq: number }, ack: () => void) => {
      received.push({ seq: payload.seq, at: Date.now() });
      ack();
    });
    socket.on('synced', (payload: { seq: number }) => received.push({ synced: payload.seq, at: Date.now() }));
    try {
      await waitFor(() => received.some((entry) => 'synced' in entry), 'synced');
      const syncedAt = received.find((entry) => 'synced' in entry)!.at;
      await sleep(300);
      live = false;
      await stream;
      const total = 405 + published;
      await waitFor(async () => (await count(`merchant:${merchant}`)) === total, `all ${total} rows`);
      await waitFor(
        () => received.filter((entry) => 'seq' in entry).length >= total - 5,
        () => `${total - 5} notifications (got ${received.length - 1})`,
      );
      await sleep(300);

      const synced = received.find((entry): entry is { synced: number; at: number } => 'synced' in entry)!.synced;
      expect(synced).toBeGreaterThanOrEqual(405);
      const seqs = received.map((entry) => ('seq' in entry ? entry.seq : -1));
      const syncedIndex = seqs.indexOf(-1);
      // Replayed first (6..S), then `synced`, then live (S+1..): every seq once, in order.
      expect(seqs.slice(0, syncedIndex)).toEqual(Array.from({ length: synced - 5 }, (_, index) => index + 6));
      expect(seqs.slice(syncedIndex + 1)).toEqual(Array.from({ length: total - synced }, (_, index) => synced + 1 + index));
      // Live rows were stored while the replay was still being sent (held back, not lost and not sent early).
      const during = await fx.pool.query(`SELECT 1 FROM notifications WHERE recipient = $1 AND seq > $2 AND created_at < $3`, [
        `merchant:${merchant}`,
        synced,
        new Date(syncedAt),
      ]);
      expect(during.rowCount).toBeGreaterThan(0);
    } finally {
      live = false;
      await stream;
      socket.close();
    }
  });
});
