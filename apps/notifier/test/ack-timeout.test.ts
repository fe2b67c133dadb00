import { describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { connectClient, OrderStory, useNotifierFixture, tokenFor, waitFor } from './support';

describe('notifier: sockets that stop acknowledging', () => {
  const fx = useNotifierFixture('notifier_ack_timeout', { NOTIFIER_ACK_TIMEOUT_MS: '500' });

  it('a socket that never acks is disconnected; reconnecting, it gets the unacknowledged notifications replayed in order, and its acks mark them delivered', async () => {
    const token = await tokenFor('merchant', 'm-silent');
    const silent = io(`http://127.0.0.1:${fx.notifier.port}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token, lastSeq: 0 },
    });
    const received: number[] = [];
    const disconnected = new Promise<string>((resolve) => silent.once('disconnect', (reason) => resolve(reason)));
    // Receives and never calls the ack.
    silent.on('notification', (payload: { seq: number }) => received.push(payload.seq));
    await new Promise<void>((resolve, reject) => {
      silent.once('synced', () => resolve());
      silent.once('connect_error', reject);
    });

    const story = await OrderStory.completedBuy(fx.pool, 'u-silent', 'm-silent');
    await fx.producer.publish(fx.topic, story.events);
    await waitFor(() => received.length === 5, 'five notifications on the silent socket');
    expect(await disconnected).toBe('io server disconnect');
    expect(
      (await fx.pool.query(`SELECT 1 FROM notifications WHERE recipient = 'merchant:m-silent' AND delivered_at IS NOT NULL`)).rowCount,
    ).toBe(0);

    const again = await connectClient(fx.notifier.port, token);
    try {
      await waitFor(() => again.shown.length === 5, 'the replay');
      expect(again.shown.map((n) => n.seq)).toEqual([1, 2, 3, 4, 5]);
      await waitFor(
        async () =>
          (await fx.pool.query(`SELECT 1 FROM notifications WHERE recipient = 'merchant:m-silent' AND delivered_at IS NULL`)).rowCount ===
          0,
        'delivered_at on every row',
      );
      expect(again.socket.connected).toBe(true);
    } finally {
      again.close();
    }
  });
});
