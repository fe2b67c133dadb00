import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deleteDeliveredNotifications } from '@settle/db';
import { connectClient, openTransaction, OrderStory, sleep, useNotifierFixture, tokenFor, txHash, waitFor } from './support';

describe('notifier delivery: Kafka → notifications → sockets', () => {
  const fx = useNotifierFixture('notifier_delivery');

  async function publish(story: OrderStory, from = 0, to = story.events.length): Promise<void> {
    await fx.producer.publish(fx.topic, story.events.slice(from, to));
  }

  it("an event for a merchant's order reaches its socket with the new orderVersion; another merchant receives nothing private", async () => {
    const merchant = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-alpha'));
    const stranger = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-stranger'));
    const user = await connectClient(fx.notifier.port, await tokenFor('user', 'u-alpha'));
    try {
      const story = await OrderStory.completedBuy(fx.pool, 'u-alpha', 'm-alpha');
      await publish(story);
      await waitFor(() => merchant.shown.some((n) => n.status === 'completed'), 'the completed notification');
      const completed = merchant.shown.find((n) => n.type === 'order.completed');
      expect(completed).toMatchObject({
        type: 'order.completed',
        orderId: story.order.id,
        orderVersion: 5,
        status: 'completed',
        minimalStatus: 'completed',
        previousStatus: 'payment_sent',
      });
      expect(completed?.seq).toBeGreaterThan(0);
      expect(completed?.order.releaseTxHash).toBe(story.order.releaseTxHash);
      expect(merchant.shown.map((n) => n.orderVersion)).toEqual([1, 2, 3, 4, 5]);
      expect(merchant.shown.map((n) => n.seq)).toEqual([1, 2, 3, 4, 5]);
      await waitFor(() => user.shown.length === 5, 'the user side');
      // Acks set delivered_at.
      await waitFor(
        async () =>
          (await fx.pool.query(`SELECT 1 FROM notifications WHERE delivered_at IS NULL AND order_id = $1`, [story.order.id])).rowCount ===
          0,
        'delivered_at on every row',
      );
      await sleep(300);
      expect(stranger.raw).toEqual([]);
      const rows = await fx.pool.query<{ recipient: string }>(
        `SELECT DISTINCT recipient FROM notifications WHERE order_id = $1 ORDER BY recipient`,
        [story.order.id],
      );
      expect(rows.rows.map((row) => row.recipient)).toEqual(['merchant:m-alpha', 'user:u-alpha']);
    } finally {
      merchant.close();
      stranger.close();
      user.close();
    }
  });

  it('a client disconnected during several transitions reconnects with its lastSeq and receives exactly the missed ones, in order, once', async () => {
    const token = await tokenFor('merchant', 'm-bravo');
    const story = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-bravo' }, { role: 'user', id: 'u-bravo' });
    const first = await connectClient(fx.notifier.port, token);
    await publish(story);
    await waitFor(() => first.shown.length === 1, 'order.created');
    const lastSeq = first.lastSeq();
    expect(lastSeq).toBe(1);
    first.close();

    const m = { role: 'merchant' as const, id: 'm-bravo' };
    await story.step(fx.pool, { action: 'accept' }, m);
    await story.step(fx.pool, { action: 'lock_escrow', txHash: txHash() }, m);
    await story.step(fx.pool, { action: 'mark_paid' }, { role: 'user', id: 'u-bravo' });
    await publish(story, 1);
    await waitFor(
      async () => (await fx.pool.query(`SELECT 1 FROM notifications WHERE recipient = 'merchant:m-bravo'`)).rowCount === 4,
      'the missed rows',
    );

    const again = await connectClient(fx.notifier.port, token, { lastSeq });
    try {
      await sleep(300);
      expect(again.raw.map((n) => [n.seq, n.orderVersion, n.type])).toEqual([
        [2, 2, 'order.accepted'],
        [3, 3, 'order.escrow_locked'],
        [4, 4, 'order.payment_sent'],
      ]);
      expect(again.lastSeq()).toBe(4);
    } finally {
      again.close();
    }
  });

  it('a replayed notification is the message the live socket got, the traceparent of its Kafka message included', async () => {
    const token = await tokenFor('merchant', 'm-replayed');
    const live = await connectClient(fx.notifier.port, token);
    const story = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-replayed' }, { role: 'user', id: 'u-replayed' });
    await story.step(fx.pool, { action: 'accept' }, { role: 'merchant', id: 'm-replayed' });
    const traceparent = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
    const [created, accepted] = story.events;
    if (created === undefined || accepted === undefined) throw new Error('the story has two events');
    await fx.producer.send({
      topic: fx.topic,
      acks: -1,
      messages: [
        { key: created.orderId, value: JSON.stringify(created) },
        { key: accepted.orderId, value: JSON.stringify(accepted), headers: { ce_traceparent: traceparent } },
      ],
    });
    await waitFor(() => live.raw.length === 2, 'both notifications, live');
    live.close();
    const replayed = await connectClient(fx.notifier.port, token, { lastSeq: 0 });
    try {
      expect(replayed.raw).toEqual(live.raw);
      expect(replayed.raw.map((n) => n.traceparent)).toEqual([undefined, traceparent]);
      expect(replayed.raw[0]).not.toHaveProperty('traceparent');
    } finally {
      replayed.close();
    }
  });

  it('redelivering the same Kafka messages shows nothing twice and writes no second row', async () => {
    const client = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-charlie'));
    try {
      const story = await OrderStory.completedBuy(fx.pool, 'u-charlie', 'm-charlie');
      await publish(story);
      await waitFor(() => client.shown.length === 5, 'five notifications');
      await waitFor(
        async () =>
          (
            await fx.pool.query(
              `SELECT 1 FROM notifications WHERE delivered_at IS NULL AND order_id = $1 AND recipient = 'merchant:m-charlie'`,
              [story.order.id],
            )
          ).rowCount === 0,
        'acks',
      );
      const before = await fx.pool.query(`SELECT recipient, seq, event_id FROM notifications WHERE order_id = $1 ORDER BY recipient, seq`, [
        story.order.id,
      ]);

      await fx.producer.publish(fx.topic, story.events);
      await fx.producer.publish(fx.topic, story.events);
      // A marker event after the duplicates proves they were consumed before we look.
      const marker = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-charlie' }, { role: 'user', id: 'u-charlie' });
      await publish(marker);
      await waitFor(() => client.shown.some((n) => n.orderId === marker.order.id), 'the marker');

      expect(client.raw.filter((n) => n.orderId === story.order.id)).toHaveLength(5);
      expect(client.shown.filter((n) => n.orderId === story.order.id).map((n) => n.orderVersion)).toEqual([1, 2, 3, 4, 5]);
      const after = await fx.pool.query(`SELECT recipient, seq, event_id FROM notifications WHERE order_id = $1 ORDER BY recipient, seq`, [
        story.order.id,
      ]);
      expect(after.rows).toEqual(before.rows);
    } finally {
      client.close();
    }
  });

  it('serves /metrics with delivery counts and latency, /health and /ready on the socket.io port', async () => {
    const base = `http://127.0.0.1:${fx.notifier.port}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const value = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    expect(value('settle_notifier_delivered_total')).toBeGreaterThan(0);
    expect(value('settle_notifier_delivery_latency_seconds_count')).toBe(value('settle_notifier_delivered_total'));
    expect(value('settle_notifier_events_processed_total')).toBeGreaterThan(0);
    expect(metrics).toMatch(/^settle_notifier_emitted_total\{kind="notification"[^}]*\} \d+/m);
    expect(metrics).toContain('settle_notifier_connected_sockets');
    expect(metrics).toContain('settle_notifier_dlt_total');
    expect(metrics).toContain('settle_notifier_retries_total');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', database: 'ok', consumer: 'joined' });
  });

  it('cleanup deletes delivered notifications older than 7 days and keeps undelivered and recent ones', async () => {
    const story = await OrderStory.completedBuy(fx.pool, 'u-cleanup', 'm-cleanup');
    await publish(story);
    await waitFor(
      async () => (await fx.pool.query(`SELECT 1 FROM notifications WHERE order_id = $1`, [story.order.id])).rowCount === 10,
      'ten rows',
    );
    // Merchant rows delivered 8 days ago (old), user rows: two delivered yesterday, three never delivered.
    await fx.pool.query(
      `UPDATE notifications SET delivered_at = now() - interval '8 days', created_at = now() - interval '8 days' WHERE order_id = $1 AND recipient = 'merchant:m-cleanup'`,
      [story.order.id],
    );
    await fx.pool.query(
      `UPDATE notifications SET delivered_at = now() - interval '1 day' WHERE order_id = $1 AND recipient = 'user:u-cleanup' AND seq <= 2`,
      [story.order.id],
    );
    expect(await deleteDeliveredNotifications(fx.pool)).toBe(5);
    const left = await fx.pool.query<{ recipient: string; delivered: boolean }>(
      `SELECT recipient, delivered_at IS NOT NULL AS delivered FROM notifications WHERE order_id = $1 ORDER BY seq`,
      [story.order.id],
    );
    expect(left.rows).toEqual([
      { recipient: 'user:u-cleanup', delivered: true },
      { recipient: 'user:u-cleanup', delivered: true },
      { recipient: 'user:u-cleanup', delivered: false },
      { recipient: 'user:u-cleanup', delivered: false },
      { recipient: 'user:u-cleanup', delivered: false },
    ]);
  });

  it('cleanup deletes an old payload once no row of its event is left, and keeps the payloads undelivered rows still need', async () => {
    const gone = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-payload-gone' }, { role: 'user', id: 'u-payload-gone' });
    const kept = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-payload-kept' }, { role: 'user', id: 'u-payload-kept' });
    await publish(gone);
    await publish(kept);
    const events = [gone.events[0]!.eventId, kept.events[0]!.eventId];
    await waitFor(
      async () => (await fx.pool.query(`SELECT 1 FROM notifications WHERE event_id = ANY($1::uuid[])`, [events])).rowCount === 4,
      'four rows',
    );
    await fx.pool.query(`UPDATE notification_payloads SET created_at = now() - interval '8 days' WHERE event_id = ANY($1::uuid[])`, [
      events,
    ]);
    // Both rows of the first event were delivered 8 days ago; the second event's user never acknowledged.
    await fx.pool.query(
      `UPDATE notifications SET created_at = now() - interval '8 days', delivered_at = now() - interval '8 days' WHERE event_id = $1`,
      [events[0]],
    );
    await fx.pool.query(
      `UPDATE notifications SET created_at = now() - interval '8 days', delivered_at = CASE WHEN recipient LIKE 'merchant:%' THEN now() - interval '8 days' END WHERE event_id = $1`,
      [events[1]],
    );
    await deleteDeliveredNotifications(fx.pool);
    const payloads = await fx.pool.query<{ event_id: string }>(
      `SELECT event_id FROM notification_payloads WHERE event_id = ANY($1::uuid[])`,
      [events],
    );
    expect(payloads.rows.map((row) => row.event_id)).toEqual([events[1]]);
    const replayed = await connectClient(fx.notifier.port, await tokenFor('user', 'u-payload-kept'));
    try {
      await waitFor(() => replayed.shown.length === 1, 'the undelivered row replayed with its payload');
      expect(replayed.shown[0]).toMatchObject({ eventId: events[1], orderId: kept.order.id, type: 'order.created' });
    } finally {
      replayed.close();
    }
  });

  it('poison messages (bad JSON, unknown type, schema-invalid) go to the DLT after one attempt while the valid events around them are delivered, also one whose order is not in the orders table', async () => {
    const client = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-poison'));
    try {
      const good = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-poison' }, { role: 'user', id: 'u-poison' });
      const event = good.events[0]!;
      // An event whose order never reached the orders table: written, then rolled back.
      const rolledBack = await openTransaction(fx.pool);
      const unsaved = (
        await OrderStory.create(rolledBack.client, { type: 'buy', merchantId: 'm-poison' }, { role: 'user', id: 'u-poison' })
      ).events[0]!;
      await rolledBack.rollback();
      // All on one key, so they land in one partition and one chunk.
      await fx.producer.send({
        topic: fx.topic,
        acks: -1,
        messages: [
          { key: event.orderId, value: '{not json' },
          { key: event.orderId, value: JSON.stringify({ ...event, eventId: randomUUID(), type: 'order.refunded' }) },
          { key: event.orderId, value: JSON.stringify({ ...event, eventId: randomUUID(), orderVersion: 'one' }) },
          { key: event.orderId, value: JSON.stringify(unsaved) },
          { key: event.orderId, value: JSON.stringify(event) },
        ],
      });
      await waitFor(() => client.shown.some((n) => n.eventId === event.eventId), 'the valid event');
      await waitFor(
        async () => (await fx.pool.query(`SELECT 1 FROM dead_letters WHERE message_key = $1`, [event.orderId])).rowCount === 3,
        'three dead letters',
      );
      const letters = await fx.pool.query<{ exception_class: string; attempts: number; original_topic: string; consumer_group: string }>(
        `SELECT exception_class, attempts, original_topic, consumer_group FROM dead_letters WHERE message_key = $1 ORDER BY original_offset`,
        [event.orderId],
      );
      expect(letters.rows.map((row) => row.exception_class)).toEqual([
        'InvalidJsonError',
        'UnknownEventTypeError',
        'SchemaValidationError',
      ]);
      expect(
        letters.rows.every(
          (row) => row.attempts === 1 && row.original_topic === fx.topic && row.consumer_group.startsWith('settle-notifier-'),
        ),
      ).toBe(true);
      expect(client.raw.filter((n) => n.orderId === event.orderId)).toHaveLength(1);
      expect(client.raw.filter((n) => n.eventId === unsaved.eventId)).toHaveLength(1);
    } finally {
      client.close();
    }
  });
});
