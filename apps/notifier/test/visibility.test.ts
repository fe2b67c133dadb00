import { describe, expect, it } from 'vitest';
import { createKafka, deadLetterTopic } from '@settle/kafka';
import { testStack } from '@settle/testkit';
import { connectClient, openTransaction, OrderStory, sleep, tokenFor, useNotifierFixture, waitFor } from './support';

/**
 * Logical decoding can hand the relay (and so Kafka) a committed transaction before other sessions see its rows.
 * These tests write the order through the write path in a transaction they hold open, so the notifier's sessions
 * cannot see its row while the event is consumed: the same situation, made deterministic.
 */
describe('notifier: events whose order row is not visible yet', () => {
  // A join check reads the orders table up to 5 times, 50, 100, 200 and 400 ms apart (750 ms in all).
  const fx = useNotifierFixture('notifier_visibility', {
    NOTIFIER_RETRY_BASE_MS: '50',
    NOTIFIER_RETRY_FACTOR: '2',
    NOTIFIER_RETRY_JITTER: '0',
  });

  async function dltMessages(): Promise<number> {
    const admin = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'visibility-test' }).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(deadLetterTopic(fx.topic));
      return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
    } finally {
      await admin.disconnect();
    }
  }

  it('the events of an order whose row is committed only later reach both parties once each, in order, and nothing goes to the DLT', async () => {
    const merchant = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-early'));
    const user = await connectClient(fx.notifier.port, await tokenFor('user', 'u-early'));
    const row = await openTransaction(fx.pool);
    const story = await OrderStory.completedBuy(row.client, 'u-early', 'm-early');
    try {
      await fx.producer.publish(fx.topic, story.events);
      await waitFor(
        () => merchant.shown.length === 5 && user.shown.length === 5,
        () => `five notifications each (merchant ${merchant.shown.length}, user ${user.shown.length})`,
      );
      // The row was invisible the whole time the events were handled.
      expect((await fx.pool.query(`SELECT 1 FROM orders WHERE id = $1`, [story.order.id])).rowCount).toBe(0);
      await row.commit();
      await sleep(500);
      for (const client of [merchant, user]) {
        expect(client.raw.map((n) => [n.seq, n.orderVersion, n.eventId])).toEqual(
          story.events.map((event, index) => [index + 1, index + 1, event.eventId]),
        );
      }
      expect((await fx.pool.query(`SELECT 1 FROM notifications WHERE order_id = $1`, [story.order.id])).rowCount).toBe(10);
      expect(await dltMessages()).toBe(0);
    } finally {
      merchant.close();
      user.close();
    }
  });

  it('a party that asks to join the order room before the order row is visible is let in once the row is committed', async () => {
    const row = await openTransaction(fx.pool);
    const story = await OrderStory.create(row.client, { type: 'buy', merchantId: 'm-join' }, { role: 'user', id: 'u-join' });
    const merchant = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-join'));
    try {
      await fx.producer.publish(fx.topic, story.events);
      await waitFor(() => merchant.shown.length === 1, 'order.created');
      const started = Date.now();
      const joined = merchant.joinOrder(story.order.id);
      await sleep(200);
      await row.commit();
      expect(await joined).toEqual({ ok: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    } finally {
      merchant.close();
    }
  });

  it('a join for an order whose row never becomes visible is answered "not found" after the bounded reads, as a non-party is', async () => {
    const visible = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-visible' }, { role: 'user', id: 'u-visible' });
    const row = await openTransaction(fx.pool);
    const hidden = await OrderStory.create(row.client, { type: 'buy', merchantId: 'm-hidden' }, { role: 'user', id: 'u-hidden' });
    const merchant = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-hidden'));
    const intruder = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-intruder'));
    try {
      let started = Date.now();
      expect(await merchant.joinOrder(hidden.order.id)).toEqual({ ok: false, error: `order ${hidden.order.id} was not found` });
      expect(Date.now() - started).toBeGreaterThanOrEqual(700);
      started = Date.now();
      expect(await intruder.joinOrder(visible.order.id)).toEqual({ ok: false, error: `order ${visible.order.id} was not found` });
      expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    } finally {
      await row.rollback();
      merchant.close();
      intruder.close();
    }
  });
});
