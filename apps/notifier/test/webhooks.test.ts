import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { registerWebhookEndpoint, checkWebhookUrl } from '@settle/db';
import { startWebhookReceiver, type WebhookReceiver } from '@settle/testkit';
import { OrderStory, useNotifierFixture, waitFor } from './support';

/** A webhook receiver on 127.0.0.1 that answers the scripted statuses in turn (the last one repeats). */
const receiver = (statuses: number[]): Promise<WebhookReceiver> =>
  startWebhookReceiver((request) => statuses[Math.min(request, statuses.length) - 1] ?? 200);

describe('webhooks: Standard Webhooks signatures, retries and dead letters', () => {
  const fx = useNotifierFixture('notifier_webhooks', {
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_POLL_MS: '50',
    WEBHOOK_MAX_ATTEMPTS: '3',
    WEBHOOK_TIMEOUT_MS: '2000',
  });

  async function publishCreated(merchant: string): Promise<OrderStory> {
    const story = await OrderStory.create(fx.pool, { type: 'buy', merchantId: merchant }, { role: 'user', id: `u-of-${merchant}` });
    await fx.producer.publish(fx.topic, story.events);
    return story;
  }

  it('a receiver answering 500, 500, 200 gets the delivery on the third attempt with a valid signature', async () => {
    const hook = await receiver([500, 500, 200]);
    try {
      const endpoint = await registerWebhookEndpoint(fx.pool, { merchantId: 'm-hook', url: hook.url });
      const story = await publishCreated('m-hook');
      await waitFor(
        async () => (await fx.pool.query(`SELECT 1 FROM webhook_deliveries WHERE status = 'delivered'`)).rowCount === 1,
        'the delivery',
      );
      expect(hook.received).toHaveLength(3);
      const ids = new Set(hook.received.map((request) => request.headers['webhook-id']));
      expect(ids.size).toBe(1);
      const last = hook.received[2]!;
      const verified = new Webhook(endpoint.secret).verify(last.body, {
        'webhook-id': String(last.headers['webhook-id']),
        'webhook-timestamp': String(last.headers['webhook-timestamp']),
        'webhook-signature': String(last.headers['webhook-signature']),
      }) as { type: string; data: { orderId: string; orderVersion: number; eventId: string } };
      expect(verified.type).toBe('order.created');
      expect(verified.data).toMatchObject({ orderId: story.order.id, orderVersion: 1, eventId: story.events[0]!.eventId });
      // A wrong secret does not verify.
      expect(() =>
        new Webhook(`whsec_${Buffer.from('another secret of 32 bytes......').toString('base64')}`).verify(
          last.body,
          last.headers as Record<string, string>,
        ),
      ).toThrow();
      const attempts = await fx.pool.query<{ attempt: number; status_code: number }>(
        `SELECT a.attempt, a.status_code FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1 ORDER BY a.attempt`,
        [endpoint.id],
      );
      expect(attempts.rows).toEqual([
        { attempt: 1, status_code: 500 },
        { attempt: 2, status_code: 500 },
        { attempt: 3, status_code: 200 },
      ]);
    } finally {
      await hook.close();
    }
  });

  it('a receiver answering 400 sends the event to the dead-letter topic after one attempt, with the source message headers', async () => {
    const hook = await receiver([400]);
    try {
      const endpoint = await registerWebhookEndpoint(fx.pool, { merchantId: 'm-reject', url: hook.url });
      const story = await publishCreated('m-reject');
      await waitFor(
        async () => (await fx.pool.query(`SELECT 1 FROM dead_letters WHERE webhook_endpoint_id = $1`, [endpoint.id])).rowCount === 1,
        'the dead letter (mirrored from the DLT)',
      );
      expect(hook.received).toHaveLength(1);
      const letter = await fx.pool.query(`SELECT * FROM dead_letters WHERE webhook_endpoint_id = $1`, [endpoint.id]);
      expect(letter.rows[0]).toMatchObject({
        channel: 'webhook',
        exception_class: 'WebhookRejectedError',
        attempts: 1,
        event_id: story.events[0]!.eventId,
        order_id: story.order.id,
        original_topic: fx.topic,
        status: 'open',
      });
      expect(letter.rows[0].exception_message).toContain('HTTP 400');
      // The source message's own headers travel with the dead letter (the relay's `id`), as for socket letters.
      expect(letter.rows[0].original_headers).toEqual({ id: story.events[0]!.eventId });
      // The dispatcher publishes the dead letter before it records the attempt (so a crash in between re-sends,
      // never loses), and the mirror can be faster than that commit: wait for the record, then check it.
      const deliveryRows = async () =>
        (await fx.pool.query(`SELECT status, attempts, last_status_code FROM webhook_deliveries WHERE endpoint_id = $1`, [endpoint.id]))
          .rows;
      await waitFor(async () => (await deliveryRows())[0]?.status !== 'pending', 'the delivery to be recorded');
      expect(await deliveryRows()).toEqual([{ status: 'dead', attempts: 1, last_status_code: 400 }]);
    } finally {
      await hook.close();
    }
  });

  it('a receiver that keeps failing with 503 is dead-lettered after the last attempt', async () => {
    const hook = await receiver([503]);
    try {
      const endpoint = await registerWebhookEndpoint(fx.pool, { merchantId: 'm-down', url: hook.url });
      await publishCreated('m-down');
      await waitFor(
        async () => (await fx.pool.query(`SELECT 1 FROM dead_letters WHERE webhook_endpoint_id = $1`, [endpoint.id])).rowCount === 1,
        'the dead letter',
      );
      expect(hook.received).toHaveLength(3);
      const letter = await fx.pool.query(`SELECT exception_class, attempts FROM dead_letters WHERE webhook_endpoint_id = $1`, [
        endpoint.id,
      ]);
      expect(letter.rows).toEqual([{ exception_class: 'WebhookRetriesExhaustedError', attempts: 3 }]);
    } finally {
      await hook.close();
    }
  });

  it('endpoints must be https, except http on localhost outside production', () => {
    expect(checkWebhookUrl('https://merchant.example/hooks').protocol).toBe('https:');
    expect(checkWebhookUrl('http://127.0.0.1:9/hooks').protocol).toBe('http:');
    expect(() => checkWebhookUrl('http://127.0.0.1:9/hooks', { production: true })).toThrow(/must use https/);
    expect(() => checkWebhookUrl('http://merchant.example/hooks')).toThrow(/must use https/);
    expect(checkWebhookUrl('http://merchant.example/hooks', { allowHttp: true }).protocol).toBe('http:');
    expect(() => checkWebhookUrl('ftp://merchant.example/')).toThrow(/must use https/);
  });
});
