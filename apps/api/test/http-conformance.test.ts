import { randomUUID } from 'node:crypto';
import { testTxHash } from '@settle/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageOrder, startApi, type Harness } from './harness';
import { startLoggedApp, type LoggedApp } from './logged-app';

let api: Harness;
let logged: LoggedApp;
let compliance: string;
beforeAll(async () => {
  api = await startApi();
  logged = await startLoggedApp(api);
  compliance = await api.token('compliance', 'c-conformance');
});
afterAll(async () => {
  await logged.close();
  await api.close();
});

const orderRow = async (id: string): Promise<unknown> => (await api.pool.query('SELECT * FROM orders WHERE id = $1', [id])).rows[0];
const problemType = 'application/problem+json; charset=utf-8';

describe('Idempotency-Key', () => {
  it('the quoted sf-string and the bare token are the same key: a retry either way replays the stored release', async () => {
    const staged = await stageOrder(api, 'sell', 'payment_sent');
    const key = randomUUID();
    const body = { txHash: testTxHash(`conformance-release-${key}`) };
    const first = await api.call('POST', `/v1/orders/${staged.order.id}/release`, {
      token: staged.tokens.seller,
      body,
      headers: { 'idempotency-key': `"${key}"` },
    });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const events = await api.counts();
    const retry = await api.call('POST', `/v1/orders/${staged.order.id}/release`, {
      token: staged.tokens.seller,
      body,
      headers: { 'idempotency-key': key },
    });
    expect({ status: retry.status, replayed: retry.headers.get('idempotent-replayed'), body: retry.body }).toEqual({
      status: 200,
      replayed: 'true',
      body: first.body,
    });
    const quotedAgain = await api.call('POST', `/v1/orders/${staged.order.id}/release`, {
      token: staged.tokens.seller,
      body: { txHash: testTxHash(`other-${key}`) },
      headers: { 'idempotency-key': `"${key}"` },
    });
    expect(quotedAgain.status).toBe(422);
    expect(await api.counts()).toEqual(events);
  });

  it('a quoted key on create is stored unquoted: the bare retry replays the 201', async () => {
    const user = await api.token('user', 'u-conformance-create');
    await api.token('merchant', 'm-conformance-create');
    const key = `create-${randomUUID()}`;
    const body = {
      type: 'sell',
      merchantId: 'm-conformance-create',
      cryptoAmount: '100',
      fiatAmount: '367.25',
      fiatCurrency: 'AED',
      rate: '3.6725',
      paymentMethod: 'upi',
    };
    const created = await api.call<{ id: string }>('POST', '/v1/orders', { token: user, body, headers: { 'idempotency-key': `"${key}"` } });
    expect(created.status).toBe(201);
    const before = await api.counts();
    const retry = await api.call<{ id: string }>('POST', '/v1/orders', { token: user, body, headers: { 'idempotency-key': key } });
    expect({ status: retry.status, replayed: retry.headers.get('idempotent-replayed'), id: retry.body.id }).toEqual({
      status: 201,
      replayed: 'true',
      id: created.body.id,
    });
    expect(await api.counts()).toEqual(before);
  });

  it('release, force-cancel and force-complete answer 400 without a key and write nothing; a malformed key is 400 too', async () => {
    const staged = await stageOrder(api, 'sell', 'payment_sent');
    const before = await orderRow(staged.order.id);
    const counts = await api.counts();
    for (const [path, token, body] of [
      ['release', staged.tokens.seller, { txHash: testTxHash('conformance-no-key') }],
      ['force-cancel', compliance, { reason: 'sanctions match', refundTxHash: testTxHash('conformance-refund') }],
      ['force-complete', compliance, { reason: 'paid on chain', releaseTxHash: testTxHash('conformance-forced') }],
    ] as const) {
      const missing = await api.call('POST', `/v1/orders/${staged.order.id}/${path}`, { token, body });
      expect({ path, status: missing.status, type: missing.headers.get('content-type') }).toEqual({ path, status: 400, type: problemType });
      expect(missing.body['detail']).toMatch(/Idempotency-Key is required/);
      for (const bad of ['"short"', '"has space inside"', '"unterminated', '"a\\"b-escaped"', 'x'.repeat(129)]) {
        const malformed = await api.call('POST', `/v1/orders/${staged.order.id}/${path}`, {
          token,
          body,
          headers: { 'idempotency-key': bad },
        });
        expect({ bad, status: malformed.status }).toEqual({ bad, status: 400 });
        expect(malformed.body['detail']).toMatch(/bare or as a quoted string/);
      }
    }
    expect(await orderRow(staged.order.id)).toEqual(before);
    expect(await api.counts()).toEqual(counts);
    const forced = await api.call('POST', `/v1/orders/${staged.order.id}/force-complete`, {
      token: compliance,
      body: { reason: 'paid on chain', releaseTxHash: testTxHash('conformance-forced') },
      headers: { 'idempotency-key': `"${randomUUID()}"` },
    });
    expect(forced.status).toBe(200);
  });
});

describe('If-Match (strong comparison)', () => {
  it('a weak tag never matches: W/"<current version>" answers 412 and changes nothing; the strong tag then succeeds', async () => {
    const staged = await stageOrder(api, 'sell', 'escrowed');
    const version = staged.order.orderVersion;
    const before = await orderRow(staged.order.id);
    const weak = await api.call('POST', `/v1/orders/${staged.order.id}/cancel-request`, {
      token: staged.tokens.buyer,
      body: {},
      headers: { 'if-match': `W/"${version}"` },
    });
    expect({ status: weak.status, type: weak.headers.get('content-type') }).toEqual({ status: 412, type: problemType });
    expect(weak.body['detail']).toMatch(/weak entity tag, which never matches under strong comparison/);
    expect(await orderRow(staged.order.id)).toEqual(before);
    const strong = await api.call<{ orderVersion: number }>('POST', `/v1/orders/${staged.order.id}/cancel-request`, {
      token: staged.tokens.buyer,
      body: {},
      headers: { 'if-match': `"${version}"` },
    });
    expect(strong.status).toBe(200);
    expect(strong.headers.get('etag')).toBe(`"${version + 1}"`);
  });

  it('a stale strong tag answers 412 with the current version; * matches any existing order and no missing one', async () => {
    const staged = await stageOrder(api, 'sell', 'escrowed');
    const stale = await api.call('POST', `/v1/orders/${staged.order.id}/cancel-request`, {
      token: staged.tokens.buyer,
      body: {},
      headers: { 'if-match': `"${staged.order.orderVersion - 1}", W/"${staged.order.orderVersion}"` },
    });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ orderVersion: staged.order.orderVersion, orderStatus: 'escrowed' });
    const any = await api.call('POST', `/v1/orders/${staged.order.id}/cancel-request`, {
      token: staged.tokens.buyer,
      body: {},
      headers: { 'if-match': '*' },
    });
    expect(any.status).toBe(200);
    const missing = await api.call('POST', `/v1/orders/${randomUUID()}/cancel-request`, {
      token: staged.tokens.buyer,
      body: {},
      headers: { 'if-match': '*' },
    });
    expect(missing.status).toBe(404);
    const garbage = await api.call('POST', `/v1/orders/${staged.order.id}/cancel-request`, {
      token: staged.tokens.buyer,
      body: {},
      headers: { 'if-match': '"abc"' },
    });
    expect(garbage.status).toBe(400);
  });
});

describe('X-Request-Id and the access log', () => {
  it('a valid X-Request-Id is echoed and in every log line of the request; an invalid or absent one is replaced by a UUID', async () => {
    const staged = await stageOrder(api, 'sell', 'escrowed');
    const token = staged.tokens.buyer;
    const call = (headers: Record<string, string>) =>
      fetch(`${logged.url}/v1/orders/${staged.order.id}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    const given = `req-${randomUUID()}:a.b_c`;
    expect((await call({ 'x-request-id': given })).headers.get('x-request-id')).toBe(given);
    for (const invalid of ['', 'has space', 'x'.repeat(129), 'semi;colon', 'é']) {
      const answer = await call(invalid === 'é' ? { 'x-request-id': 'caf\u00e9' } : { 'x-request-id': invalid });
      expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    const generated = (await call({})).headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);

    const lines = logged.lines().filter((line) => line['requestId'] === given);
    expect(lines).toEqual([
      {
        level: 30,
        time: expect.any(Number),
        app: 'api',
        requestId: given,
        method: 'GET',
        path: `/v1/orders/${staged.order.id}`,
        status: 200,
        durationMs: expect.any(Number),
        orderId: staged.order.id,
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
        msg: 'request',
      },
    ]);
    expect(JSON.stringify(logged.lines())).not.toContain(token);
    expect(JSON.stringify(logged.lines())).not.toMatch(/authorization/i);
  });

  it('problem responses carry X-Request-Id; a create logs the new orderId; a 4xx logs at warn with its detail', async () => {
    const user = await api.token('user', 'u-conformance-log');
    await api.token('merchant', 'm-conformance-log');
    const id = `create-${randomUUID()}`;
    const created = await fetch(`${logged.url}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({
        type: 'sell',
        merchantId: 'm-conformance-log',
        cryptoAmount: '100',
        fiatAmount: '367.25',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'upi',
      }),
    });
    expect(created.status).toBe(201);
    const order = (await created.json()) as { id: string };
    const refused = await fetch(`${logged.url}/v1/orders/${order.id}/release`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json', 'x-request-id': `${id}-2` },
      body: '{}',
    });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('x-request-id')).toBe(`${id}-2`);
    const unauthenticated = await fetch(`${logged.url}/v1/orders`, { headers: { 'x-request-id': `${id}-3` } });
    expect(unauthenticated.headers.get('x-request-id')).toBe(`${id}-3`);

    const byId = (requestId: string) => logged.lines().filter((line) => line['requestId'] === requestId);
    expect(byId(id)).toEqual([expect.objectContaining({ level: 30, method: 'POST', path: '/v1/orders', status: 201, orderId: order.id })]);
    expect(byId(`${id}-2`)).toEqual([
      expect.objectContaining({ level: 40, status: 400, orderId: order.id, detail: expect.stringMatching(/body\.txHash/) as string }),
    ]);
    expect(byId(`${id}-3`)).toEqual([expect.objectContaining({ level: 40, status: 401, path: '/v1/orders' })]);
  });
});
