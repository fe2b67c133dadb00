import { signToken } from '@settle/auth';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, repoRoot } from '@settle/config';
import { dataSchemaUri, EVENT_TYPES, type EventType } from '@settle/contracts';
import { createPool } from '@settle/db';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, testApp, type Harness } from './harness';
import { testAddress } from '@settle/testkit';

let api: Harness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

describe('documentation', () => {
  it('serves an OpenAPI 3.1 document generated from the schemas, with every public path', async () => {
    const response = await api.call<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    }>('GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    const paths = Object.entries(response.body.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const expected of [
      'POST /v1/orders',
      'GET /v1/orders',
      'GET /v1/orders/book',
      'GET /v1/orders/{id}',
      'GET /v1/orders/{id}/events',
      'POST /v1/orders/{id}/accept',
      'POST /v1/orders/{id}/escrow',
      'POST /v1/orders/{id}/payment-sent',
      'POST /v1/orders/{id}/release',
      'POST /v1/orders/{id}/cancel',
      'POST /v1/orders/{id}/cancel-request',
      'POST /v1/orders/{id}/extension-request',
      'POST /v1/orders/{id}/extension-accept',
      'POST /v1/orders/{id}/dispute',
      'POST /v1/orders/{id}/dispute/resolve',
      'PATCH /api/orders/{id}/escrow',
      'GET /v1/merchants',
      'POST /v1/webhooks',
      'GET /v1/webhooks',
      'DELETE /v1/webhooks/{id}',
      'GET /v1/webhooks/{id}/deliveries',
      'POST /v1/dev/tokens',
    ]) {
      expect(paths).toContain(expected);
    }
    expect(Object.keys(response.body.components.schemas)).toEqual(expect.arrayContaining(['Order', 'CreateOrder', 'Problem', 'BookOrder']));
  });

  it('serves each event schema its messages name in ce_dataschema, the same document as docs/schemas', async () => {
    const list = await api.call<{ schemas: { type: string; name: string; id: string; path: string }[] }>('GET', '/schemas');
    expect(list.status).toBe(200);
    expect(list.body.schemas.map((schema) => schema.type).sort()).toEqual([...EVENT_TYPES].sort());
    for (const schema of list.body.schemas) {
      expect(schema.id).toBe(dataSchemaUri(schema.type as EventType));
      expect(schema.path).toBe(`/schemas/${path.basename(new URL(schema.id).pathname)}`);
      const response = await fetch(`${api.url}${schema.path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/schema\+json/);
      const published = JSON.parse(readFileSync(path.join(repoRoot, 'docs/schemas', `${schema.name}.json`), 'utf8')) as unknown;
      expect(await response.json()).toEqual(published);
    }
    const missing = await fetch(`${api.url}/schemas/order.completed.v99.json`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await missing.json()) as { detail: string }).detail).toContain('GET /schemas lists them');
  });

  it('serves human docs at /docs with their assets', async () => {
    const page = await fetch(`${api.url}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("url: '/openapi.json'");
    expect((await fetch(`${api.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });
});

describe('metrics', () => {
  /** The histogram's _count for one label set, from the Prometheus text at /metrics (0 when absent). */
  async function requestCount(labels: string): Promise<number> {
    const text = (await api.call('GET', '/metrics')).body as unknown as string;
    const line = text.split('\n').find((row) => row.startsWith('settle_api_http_request_duration_seconds_count{') && row.includes(labels));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  }

  it("counts each request by method, route pattern and status, and only this app's", async () => {
    const merchant = await api.token('merchant', 'm-metrics');
    const health = 'method="GET",route="/health",status="200"';
    const merchants = 'method="GET",route="/v1/merchants",status="200"';
    const unauthenticated = 'method="GET",route="unmatched",status="401"';
    const before = await Promise.all([health, merchants, unauthenticated].map(requestCount));
    await api.call('GET', '/health');
    await api.call('GET', '/health');
    await api.call('GET', '/v1/merchants', { token: merchant });
    await api.call('GET', '/v1/orders/book');
    // A second app in the same process: its requests must not show up in this app's metrics.
    const other = await startApi();
    await other.call('GET', '/health');
    await other.close();
    expect(await Promise.all([health, merchants, unauthenticated].map(requestCount))).toEqual([
      (before[0] ?? 0) + 2,
      (before[1] ?? 0) + 1,
      (before[2] ?? 0) + 1,
    ]);
  });
});

describe('authentication', () => {
  it('an expired token answers 401 saying so', async () => {
    const expired = await signToken(api.config, { role: 'user', id: 'u-expired' }, -60);
    const response = await api.call('GET', '/v1/orders', { token: expired });
    expect(response.status).toBe(401);
    expect(response.body['detail']).toBe('the token has expired; get a new one');
  });

  it('every path under /v1 and /api needs a token, in any letter case; health and docs do not', async () => {
    for (const [method, path] of [
      ['GET', '/v1/merchants'],
      ['GET', '/V1/Merchants'],
      ['GET', '/v1/merchants/'],
      ['GET', '/v1'],
      ['GET', '/v1/orders/book'],
      ['POST', '/v1/webhooks'],
      ['PATCH', '/API/orders/00000000-0000-4000-8000-000000000000/escrow'],
      ['GET', '/v1/no-such-route'],
    ] as const) {
      const response = await api.call(method, path);
      expect({ path, status: response.status, type: response.headers.get('content-type') }).toEqual({
        path,
        status: 401,
        type: 'application/problem+json; charset=utf-8',
      });
    }
    expect((await api.call('GET', '/health')).status).toBe(200);
    expect((await api.call('GET', '/openapi.json')).status).toBe(200);
  });

  it('a token signed with another secret or without a role answers 401', async () => {
    const foreign = await signToken({ JWT_SECRET: 'another-secret-of-16-chars', JWT_ISSUER: undefined }, { role: 'merchant', id: 'm-x' });
    expect((await api.call('GET', '/v1/orders', { token: foreign })).status).toBe(401);
    expect((await api.call('GET', '/v1/orders', { token: 'not.a.jwt' })).status).toBe(401);
  });

  it('dev tokens create the account and work; without DEV_AUTH the route is not served (401) nor documented', async () => {
    const issued = await api.call<{ token: string }>('POST', '/v1/dev/tokens', {
      body: { role: 'merchant', id: 'm-dev-token', walletAddress: testAddress('dev') },
    });
    expect(issued.status).toBe(200);
    const merchants = await api.call<{ items: Array<{ id: string; walletAddress: string | null }> }>('GET', '/v1/merchants', {
      token: issued.body.token,
    });
    expect(merchants.body.items).toContainEqual({
      id: 'm-dev-token',
      name: null,
      walletAddress: testAddress('dev'),
      wallets: { tron: testAddress('dev') },
    });
    const invalid = await api.call('POST', '/v1/dev/tokens', { body: { role: 'admin', id: 'x' } });
    expect(invalid.status).toBe(400);

    const config = loadConfig({ ...process.env, DATABASE_URL: api.db.url, DEV_AUTH: '0', JWT_SECRET: 'production-like-secret-000' });
    const pool = createPool(api.db.url, { max: 2 });
    const server = testApp(config, pool).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/dev/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'user', id: 'u-1' }),
      });
      expect(response.status).toBe(401);
      const document = (await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      expect(Object.keys(document.paths)).not.toContain('/v1/dev/tokens');
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    }
  });
});
