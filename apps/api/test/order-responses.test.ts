import { randomUUID } from 'node:crypto';
import { testTxHash } from '@settle/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageOrder, startApi, type Harness } from './harness';

// Order responses carry the order's JSON text as it was made once per transition, its version as a strong ETag,
// and on a replay the stored status and body with Idempotent-Replayed.

interface Raw {
  status: number;
  headers: Headers;
  text: string;
}

describe('order responses', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api.close();
  });

  async function raw(method: string, path: string, token: string, headers: Record<string, string> = {}, body?: unknown): Promise<Raw> {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  /** The headers an order response carries: JSON of exactly the body's UTF-8 length, tagged with the order's version. */
  function expectOrder(response: Raw, status: number): { id: string; orderVersion: number } {
    const order = JSON.parse(response.text) as { id: string; orderVersion: number };
    expect({
      status: response.status,
      type: response.headers.get('content-type'),
      length: response.headers.get('content-length'),
      etag: response.headers.get('etag'),
      cache: response.headers.get('cache-control'),
    }).toEqual({
      status,
      type: 'application/json; charset=utf-8',
      length: String(Buffer.byteLength(response.text)),
      etag: `"${order.orderVersion}"`,
      cache: 'no-store',
    });
    return order;
  }

  it('a create answers 201 with Location and an ETag, its Content-Length the byte length of a body with non-ASCII text', async () => {
    const user = await api.token('user', 'u-responses');
    await api.token('merchant', 'm-responses');
    const created = await raw(
      'POST',
      '/v1/orders',
      user,
      {},
      {
        type: 'sell',
        merchantId: 'm-responses',
        cryptoAmount: '100',
        fiatAmount: '367.25',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'upi',
        paymentDetails: { holder: 'Zoë Ünal 😀', bank: 'Emirates NBD' },
      },
    );
    const order = expectOrder(created, 201);
    expect(Buffer.byteLength(created.text)).toBeGreaterThan(created.text.length);
    expect(created.headers.get('location')).toBe(`/v1/orders/${order.id}`);
    expect(JSON.parse(created.text)).toMatchObject({ status: 'open', paymentDetails: { holder: 'Zoë Ünal 😀' } });
  });

  it('a transition answers 200 with the next ETag; its retry replays the same body and headers with Idempotent-Replayed', async () => {
    const staged = await stageOrder(api, 'sell', 'payment_sent');
    const key = randomUUID();
    const body = { txHash: testTxHash(`responses-release-${key}`) };
    const first = await raw('POST', `/v1/orders/${staged.order.id}/release`, staged.tokens.seller, { 'idempotency-key': key }, body);
    expect(expectOrder(first, 200).orderVersion).toBe(staged.order.orderVersion + 1);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const retry = await raw('POST', `/v1/orders/${staged.order.id}/release`, staged.tokens.seller, { 'idempotency-key': key }, body);
    expectOrder(retry, 200);
    // The stored response is jsonb: the same fields, in Postgres's key order.
    expect({ body: JSON.parse(retry.text), etag: retry.headers.get('etag'), replayed: retry.headers.get('idempotent-replayed') }).toEqual({
      body: JSON.parse(first.text),
      etag: first.headers.get('etag'),
      replayed: 'true',
    });
  });

  it('the same escrow hash again answers 200 with the unchanged order and its ETag', async () => {
    const staged = await stageOrder(api, 'sell', 'escrowed');
    const again = await raw(
      'POST',
      `/v1/orders/${staged.order.id}/escrow`,
      staged.tokens.seller,
      {},
      { txHash: staged.order.escrowTxHash },
    );
    expect(expectOrder(again, 200).orderVersion).toBe(staged.order.orderVersion);
    expect(JSON.parse(again.text)).toEqual(staged.order);
  });

  it('GET answers the order with its ETag; If-None-Match with that tag (also weak, in a list, or *) answers 304 without a body', async () => {
    const staged = await stageOrder(api, 'sell', 'accepted');
    const path = `/v1/orders/${staged.order.id}`;
    const token = staged.tokens.seller;
    const current = `"${staged.order.orderVersion}"`;
    expect(expectOrder(await raw('GET', path, token), 200).id).toBe(staged.order.id);
    for (const tag of [current, `W/${current}`, `"999", ${current}`, '*']) {
      const cached = await raw('GET', path, token, { 'if-none-match': tag });
      expect({
        tag,
        status: cached.status,
        etag: cached.headers.get('etag'),
        text: cached.text,
        type: cached.headers.get('content-type'),
      }).toEqual({
        tag,
        status: 304,
        etag: current,
        text: '',
        type: null,
      });
    }
    const stale = await raw('GET', path, token, { 'if-none-match': `"${staged.order.orderVersion - 1}"` });
    expectOrder(stale, 200);
  });

  it("HEAD answers GET's status and headers without a body", async () => {
    const staged = await stageOrder(api, 'buy', 'open');
    const path = `/v1/orders/${staged.order.id}`;
    const get = await raw('GET', path, staged.tokens.creator);
    const head = await raw('HEAD', path, staged.tokens.creator);
    expect(head.text).toBe('');
    const shown = (response: Raw) => ({
      status: response.status,
      type: response.headers.get('content-type'),
      length: response.headers.get('content-length'),
      etag: response.headers.get('etag'),
    });
    expect(shown(head)).toEqual(shown(get));
  });

  it('a refused transition answers problem+json with the current version', async () => {
    const staged = await stageOrder(api, 'sell', 'completed');
    const refused = await raw('POST', `/v1/orders/${staged.order.id}/payment-sent`, staged.tokens.buyer, {}, {});
    expect({ status: refused.status, type: refused.headers.get('content-type') }).toEqual({
      status: 409,
      type: 'application/problem+json; charset=utf-8',
    });
    expect(JSON.parse(refused.text)).toMatchObject({
      type: 'https://settle.dev/problems/conflict',
      status: 409,
      orderVersion: staged.order.orderVersion,
      orderStatus: 'completed',
      instance: `/v1/orders/${staged.order.id}/payment-sent`,
    });
  });
});
