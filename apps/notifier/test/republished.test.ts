import { describe, expect, it } from 'vitest';
import { EVENT_HEADERS } from '@settle/kafka';
import { connectClient, OrderStory, tokenFor, useNotifierFixture, waitFor } from './support';

describe('re-published events (settle-ops outbox republish)', () => {
  const fixture = useNotifierFixture('notifier_republished');

  it('are skipped: no notification row, nothing shown; events after them are delivered as usual', async () => {
    const client = await connectClient(fixture.notifier.port, await tokenFor('merchant', 'm-republished'));
    const again = await OrderStory.completedBuy(fixture.pool, 'u-republished', 'm-republished');
    const fresh = await OrderStory.create(
      fixture.pool,
      { type: 'buy', merchantId: 'm-republished' },
      { role: 'user', id: 'u-republished-2' },
    );
    await fixture.producer.send({
      topic: fixture.topic,
      acks: -1,
      messages: again.events.map((event) => ({
        key: event.orderId,
        value: JSON.stringify(event),
        headers: { id: event.eventId, [EVENT_HEADERS.republished]: 'run-1' },
      })),
    });
    await fixture.producer.publish(fixture.topic, fresh.events);
    await waitFor(() => client.shown.length >= fresh.events.length, "the fresh order's notification");
    // The fresh order's event went through the same partitions after the re-published ones.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(client.shown.map((shown) => shown.orderId)).toEqual(fresh.events.map((event) => event.orderId));
    const rows = await fixture.pool.query<{ n: string }>('SELECT count(*) AS n FROM notifications WHERE order_id = $1', [again.order.id]);
    expect(Number(rows.rows[0]?.n)).toBe(0);
    client.close();
  });
});
