import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Harness } from './harness';

// apps/api/src/body.ts reads plain UTF-8 JSON itself and leaves compressed or non-UTF-8 bodies to express.json:
// both paths must accept what they should and refuse the rest with a problem document, changing nothing.

type Body = NonNullable<RequestInit['body']>;

let api: Harness;
let user: string;
beforeAll(async () => {
  api = await startApi();
  user = await api.token('user', 'u-bodies');
  await api.token('merchant', 'm-bodies');
});
afterAll(async () => {
  await api.close();
});

const CREATE = {
  type: 'sell',
  merchantId: 'm-bodies',
  cryptoAmount: '10',
  cryptoCurrency: 'USDT',
  fiatAmount: '36.73',
  fiatCurrency: 'AED',
  rate: '3.673',
  paymentMethod: 'upi',
};

async function post(
  body: Body,
  headers: Record<string, string>,
): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
  const response = await fetch(`${api.url}/v1/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user}`, ...headers },
    body,
    duplex: 'half',
  });
  return { status: response.status, type: response.headers.get('content-type'), json: (await response.json()) as Record<string, unknown> };
}

describe('JSON request bodies', () => {
  it('a gzip-compressed body is decoded (by express.json) and creates the order', async () => {
    const created = await post(gzipSync(JSON.stringify(CREATE)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(created.status).toBe(201);
    expect(created.json['cryptoAmount']).toBe('10');
    const row = await api.pool.query('SELECT fiat_amount::text FROM orders WHERE id = $1', [created.json['id']]);
    expect(row.rows[0]).toEqual({ fiat_amount: '36.73' });
  });

  it('a body split over many chunks is read whole', async () => {
    const text = JSON.stringify(CREATE);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const char of text) controller.enqueue(new TextEncoder().encode(char));
        controller.close();
      },
    });
    const created = await post(stream, { 'content-type': 'application/json; charset=UTF-8' });
    expect(created.status).toBe(201);
    expect(created.json['rate']).toBe('3.673');
  });

  it('refuses other charsets, encodings, non-object JSON and oversized streams, changing nothing', async () => {
    const before = await api.counts();
    const cases: Array<[Body | (() => Body), Record<string, string>, number, RegExp]> = [
      [JSON.stringify(CREATE), { 'content-type': 'application/json; charset=latin1' }, 415, /UTF-8/],
      [JSON.stringify(CREATE), { 'content-type': 'application/json', 'content-encoding': 'br-nonsense' }, 415, /UTF-8/],
      ['   \n ', { 'content-type': 'application/json' }, 400, /not valid JSON/],
      ['"just a string"', { 'content-type': 'application/json' }, 400, /not valid JSON/],
      ['{"type": "sell",', { 'content-type': 'application/json' }, 400, /not valid JSON/],
      [
        () =>
          new ReadableStream<Uint8Array>({
            start(controller) {
              for (let i = 0; i < 80; i += 1) controller.enqueue(new Uint8Array(1024).fill(0x20));
              controller.close();
            },
          }),
        { 'content-type': 'application/json' },
        413,
        /64 KB/,
      ],
    ];
    for (const [body, headers, status, detail] of cases) {
      const answer = await post(typeof body === 'function' ? body() : body, headers);
      expect({ headers, status: answer.status, type: answer.type }).toEqual({
        headers,
        status,
        type: 'application/problem+json; charset=utf-8',
      });
      expect(answer.json['detail']).toMatch(detail);
    }
    expect(await api.counts()).toEqual(before);
  });

  it('an empty JSON body is an empty object: validation names the missing fields', async () => {
    const answer = await post('', { 'content-type': 'application/json' });
    expect(answer.status).toBe(400);
    expect(answer.json['detail']).toMatch(/body\.type/);
  });
});
