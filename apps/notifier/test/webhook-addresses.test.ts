import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { listWebhookEndpoints, registerWebhookEndpoint } from '@settle/db';
import { OrderStory, useNotifierFixture, waitFor, type NotifierFixture } from './support';

/** A receiver on 127.0.0.1 answering 200, reached as http://localhost:<port>: a name that resolves to loopback. */
async function localhostReceiver(): Promise<{
  url: string;
  received: Array<{ headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}> {
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function publishCreated(fx: NotifierFixture, merchant: string): Promise<OrderStory> {
  const story = await OrderStory.create(fx.pool, { type: 'buy', merchantId: merchant }, { role: 'user', id: `u-of-${merchant}` });
  await fx.producer.publish(fx.topic, story.events);
  return story;
}

const FAST = { WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_POLL_MS: '50', WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_TIMEOUT_MS: '2000' };

describe('webhook delivery to a host that resolves to a non-public address', () => {
  const fx = useNotifierFixture('notifier_hook_addr', { ...FAST, WEBHOOK_ALLOWED_HOSTS: '' });

  it('is not sent: the endpoint is disabled with the reason, the attempt records it and the event is dead-lettered', async () => {
    const hook = await localhostReceiver();
    try {
      // Registered while its host was acceptable (straight in the table); it resolves to loopback now.
      const endpoint = await registerWebhookEndpoint(fx.pool, { merchantId: 'm-rebound', url: hook.url });
      const story = await publishCreated(fx, 'm-rebound');
      await waitFor(
        async () => (await fx.pool.query(`SELECT 1 FROM dead_letters WHERE webhook_endpoint_id = $1`, [endpoint.id])).rowCount === 1,
        'the dead letter',
      );
      expect(hook.received).toEqual([]);

      const [listed] = await listWebhookEndpoints(fx.pool, 'm-rebound');
      expect(listed).toMatchObject({ id: endpoint.id, enabled: false });
      expect(listed?.disabledReason).toBe(
        'the host localhost resolves to 127.0.0.1, which is a loopback address; webhook URLs must resolve to public internet addresses only',
      );
      expect(listed?.disabledAt).not.toBeNull();

      const letter = await fx.pool.query(
        `SELECT exception_class, exception_message, attempts, event_id FROM dead_letters WHERE webhook_endpoint_id = $1`,
        [endpoint.id],
      );
      expect(letter.rows[0]).toMatchObject({
        exception_class: 'WebhookDestinationRefusedError',
        attempts: 1,
        event_id: story.events[0]!.eventId,
      });
      expect(letter.rows[0].exception_message).toContain('loopback address');

      const attempts = async () =>
        (
          await fx.pool.query(
            `SELECT d.status, a.status_code, a.error FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.endpoint_id = $1`,
            [endpoint.id],
          )
        ).rows;
      await waitFor(async () => (await attempts())[0]?.status === 'dead', 'the refused attempt to be recorded');
      expect(await attempts()).toEqual([{ status: 'dead', status_code: null, error: listed?.disabledReason }]);

      // A disabled endpoint gets no new deliveries.
      await publishCreated(fx, 'm-rebound');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(
        (await fx.pool.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1`, [endpoint.id])).rows[0],
      ).toEqual({ n: 1 });
      expect(hook.received).toEqual([]);
    } finally {
      await hook.close();
    }
  });
});

describe('webhook delivery to an allow-listed local receiver', () => {
  const fx = useNotifierFixture('notifier_hook_allow', { ...FAST, WEBHOOK_ALLOWED_HOSTS: 'localhost' });

  it('WEBHOOK_ALLOWED_HOSTS=localhost lets http://localhost through: delivered, signed, Host kept, endpoint still enabled', async () => {
    const hook = await localhostReceiver();
    try {
      const endpoint = await registerWebhookEndpoint(fx.pool, { merchantId: 'm-local', url: hook.url });
      const story = await publishCreated(fx, 'm-local');
      await waitFor(
        async () =>
          (await fx.pool.query(`SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'delivered'`, [endpoint.id]))
            .rowCount === 1,
        'the delivery',
      );
      expect(hook.received).toHaveLength(1);
      const [request] = hook.received;
      // Connected to the checked address, but addressed to the URL's host.
      expect(request?.headers.host).toBe(new URL(hook.url).host);
      const verified = new Webhook(endpoint.secret).verify(request!.body, request!.headers as Record<string, string>) as {
        data: { orderId: string };
      };
      expect(verified.data.orderId).toBe(story.order.id);
      expect((await listWebhookEndpoints(fx.pool, 'm-local'))[0]).toMatchObject({ enabled: true, disabledReason: null });
    } finally {
      await hook.close();
    }
  });
});
