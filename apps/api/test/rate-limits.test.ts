import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { startApi, type ApiResponse, type Harness } from './harness';

const LIMIT = 5;
const started: Harness[] = [];
afterAll(async () => {
  await Promise.all(started.map((api) => api.close()));
});

async function api(env: Record<string, string>, deps: Parameters<typeof startApi>[1] = {}): Promise<Harness> {
  const harness = await startApi({ API_RATE_LIMIT_PRINCIPAL: String(LIMIT), API_RATE_LIMIT_ANONYMOUS: String(LIMIT), ...env }, deps);
  started.push(harness);
  return harness;
}

function expectTooManyRequests(response: ApiResponse, policy: string): void {
  expect(response.status).toBe(429);
  expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
  expect(response.body).toMatchObject({ type: 'https://settle.dev/problems/too-many-requests', title: 'Too many requests', status: 429 });
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^"${policy}"; r=0; t=\\d+$`));
  expect(response.headers.get('ratelimit-policy')).toMatch(new RegExp(`^"${policy}"; q=${LIMIT}; w=60; pk=:[A-Za-z0-9+/=]+:$`));
}

describe('rate limits', () => {
  it('a token flooding the API gets 429 problem+json with Retry-After and RateLimit headers; another token keeps getting 200', async () => {
    const server = await api({});
    const flooder = await server.token('merchant', 'm-flood');
    const other = await server.token('merchant', 'm-calm');
    for (let index = 1; index <= LIMIT; index += 1) {
      const response = await server.call('GET', '/v1/merchants', { token: flooder });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^"principal"; r=${LIMIT - index}; t=\\d+$`));
    }
    expectTooManyRequests(await server.call('GET', '/v1/merchants', { token: flooder }), 'principal');
    expectTooManyRequests(await server.call('POST', '/v1/orders', { token: flooder, body: {} }), 'principal');
    for (let index = 0; index < LIMIT; index += 1) expect((await server.call('GET', '/v1/merchants', { token: other })).status).toBe(200);
  });

  it('an address without a token flooding public routes gets 429; requests with a token do not spend its budget', async () => {
    const server = await api({});
    for (let index = 0; index < LIMIT; index += 1) expect((await server.call('GET', '/health')).status).toBe(200);
    expectTooManyRequests(await server.call('GET', '/openapi.json'), 'anonymous');
    expectTooManyRequests(await server.call('POST', '/v1/dev/tokens', { body: { role: 'user', id: 'u-flood' } }), 'anonymous');
    expectTooManyRequests(await server.call('GET', '/v1/merchants'), 'anonymous');
    const token = await server.token('user', 'u-with-token');
    expect((await server.call('GET', '/v1/merchants', { token })).status).toBe(200);
  });

  it('with REDIS_URL, two API processes share one budget per token', async () => {
    const clients = [createClient({ url: 'redis://127.0.0.1:6379' }), createClient({ url: 'redis://127.0.0.1:6379' })];
    await Promise.all(clients.map((client) => client.connect()));
    try {
      // Same secret (tokens valid on both), same key prefix (one budget), a prefix of this run's own.
      const env = { JWT_SECRET: `shared-secret-${randomUUID()}`, API_REDIS_KEY: `settle-api-test-${randomUUID()}` };
      const [first, second] = [await api(env, { redis: clients[0] }), await api(env, { redis: clients[1] })];
      if (first === undefined || second === undefined) throw new Error('two APIs');
      const flooder = await first.token('merchant', 'm-shared-flood');
      const other = await second.token('merchant', 'm-shared-calm');
      for (let index = 0; index < LIMIT; index += 1) {
        const response = await (index % 2 === 0 ? first : second).call('GET', '/v1/merchants', { token: flooder });
        expect(response.status).toBe(200);
      }
      expectTooManyRequests(await first.call('GET', '/v1/merchants', { token: flooder }), 'principal');
      expectTooManyRequests(await second.call('GET', '/v1/merchants', { token: flooder }), 'principal');
      expect((await second.call('GET', '/v1/merchants', { token: other })).status).toBe(200);
      expect((await first.call('GET', '/v1/merchants', { token: other })).status).toBe(200);
    } finally {
      await Promise.all(started.splice(0).map((harness) => harness.close()));
      await Promise.all(clients.map((client) => client.quit()));
    }
  });
});
