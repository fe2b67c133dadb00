import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Harness } from './harness';

let api: Harness;
let merchant: string;
beforeAll(async () => {
  // The registered URLs point at loopback, which only an allow-listed host may.
  api = await startApi({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  merchant = await api.token('merchant', 'm-hooks');
});
afterAll(async () => {
  await api.close();
});

describe('webhook endpoints over the API', () => {
  it('a merchant registers an endpoint (201, secret shown once), lists it, reads its deliveries and removes it', async () => {
    const created = await api.call<{ id: string; url: string; secret: string }>('POST', '/v1/webhooks', {
      token: merchant,
      body: { url: 'http://127.0.0.1:9/hooks' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/webhooks/${created.body.id}`);
    expect(created.body.secret).toMatch(/^whsec_/);
    const list = await api.call<{ items: Array<Record<string, unknown>> }>('GET', '/v1/webhooks', { token: merchant });
    expect(list.body.items.map((item) => item['id'])).toEqual([created.body.id]);
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    const deliveries = await api.call<{ items: unknown[] }>('GET', `/v1/webhooks/${created.body.id}/deliveries`, { token: merchant });
    expect(deliveries.status).toBe(200);
    expect(deliveries.body.items).toEqual([]);
    expect((await api.call('DELETE', `/v1/webhooks/${created.body.id}`, { token: merchant })).status).toBe(204);
    expect((await api.call<{ items: unknown[] }>('GET', '/v1/webhooks', { token: merchant })).body.items).toEqual([]);
  });

  it("only merchants have endpoints (403), and another merchant's endpoint is not found (404)", async () => {
    const user = await api.token('user', 'u-hooks');
    const refused = await api.call('POST', '/v1/webhooks', { token: user, body: { url: 'https://127.0.0.1/hooks' } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    const created = await api.call<{ id: string }>('POST', '/v1/webhooks', { token: merchant, body: { url: 'https://127.0.0.1/hooks' } });
    const other = await api.token('merchant', 'm-hooks-other');
    expect((await api.call('DELETE', `/v1/webhooks/${created.body.id}`, { token: other })).status).toBe(404);
    expect((await api.call('GET', `/v1/webhooks/${created.body.id}/deliveries`, { token: other })).status).toBe(404);
    expect((await api.call<{ items: unknown[] }>('GET', '/v1/webhooks', { token: merchant })).body.items).toHaveLength(1);
  });

  it('bad URLs answer 400 and register nothing', async () => {
    const before = await api.call<{ items: unknown[] }>('GET', '/v1/webhooks', { token: merchant });
    for (const url of ['not a url', 'ftp://example.com/x', 'http://example.com/hooks']) {
      const response = await api.call('POST', '/v1/webhooks', { token: merchant, body: { url } });
      expect({ url, status: response.status }).toEqual({ url, status: 400 });
    }
    expect((await api.call<{ items: unknown[] }>('GET', '/v1/webhooks', { token: merchant })).body.items).toEqual(before.body.items);
  });
});
