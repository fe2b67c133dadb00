import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BEND_SETTINGS, startApi, type Harness } from './harness';

// apps/api/src/body.ts reads plain UTF-8 JSON itself (the fastJsonBody bend) and leaves compressed or other-charset
// bodies to express.json; with the bend off express.json reads them all. Either way the API must accept what it
// should and refuse the rest with the same problem document, changing nothing.

type Body = NonNullable<RequestInit['body']>;

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

/** A body of `chunks` pieces of `size` bytes (spaces), streamed: no Content-Length, so only its reader can refuse it. */
const streamOf = (chunks: number, size: number): ReadableStream<Uint8Array> =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < chunks; i += 1) controller.enqueue(new Uint8Array(size).fill(0x20));
      controller.close();
    },
  });

/** `{"reason":"<bytes that are not UTF-8>"}`, as a client with the wrong encoding would send it. */
const NOT_UTF8 = Buffer.concat([Buffer.from('{"reason":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);

describe.each(BEND_SETTINGS)('JSON request bodies %s', (_setting, expressBends) => {
  let api: Harness;
  let user: string;
  beforeAll(async () => {
    api = await startApi({}, {}, { expressBends });
    user = await api.token('user', 'u-bodies');
    await api.token('merchant', 'm-bodies');
  });
  afterAll(async () => {
    await api.close();
  });

  async function post(
    body: Body,
    headers: Record<string, string>,
    path = '/v1/orders',
  ): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
    const response = await fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}`, ...headers },
      body,
      duplex: 'half',
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      json: (await response.json()) as Record<string, unknown>,
    };
  }

  it('a gzip-compressed body is decoded and creates the order', async () => {
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

  it('a UTF-16 body that names its charset, and a UTF-8 body after a byte order mark, each create the order', async () => {
    const utf16 = await post(Buffer.from(JSON.stringify({ ...CREATE, paymentDetails: { holder: 'Zoë 😀' } }), 'utf16le'), {
      'content-type': 'application/json; charset=utf-16le',
    });
    expect(utf16.status).toBe(201);
    expect(utf16.json['paymentDetails']).toEqual({ holder: 'Zoë 😀' });
    const marked = await post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(CREATE))]), {
      'content-type': 'application/json',
    });
    expect(marked.status).toBe(201);
    expect(marked.json['fiatAmount']).toBe('36.73');
  });

  it('refuses other media types, charsets and encodings, bytes that are not UTF-8, non-object JSON and oversized bodies, changing nothing', async () => {
    const before = await api.counts();
    const text = JSON.stringify(CREATE);
    const cases: Array<[string, () => Body, Record<string, string>, number, RegExp]> = [
      ['no content type', () => Buffer.from(text), {}, 415, /application\/json/],
      ['text/plain', () => text, { 'content-type': 'text/plain' }, 415, /application\/json/],
      ['latin1', () => text, { 'content-type': 'application/json; charset=latin1' }, 415, /UTF-8/],
      ['an unknown encoding', () => text, { 'content-type': 'application/json', 'content-encoding': 'br-nonsense' }, 415, /UTF-8/],
      ['not UTF-8', () => NOT_UTF8, { 'content-type': 'application/json' }, 400, /not valid UTF-8/],
      [
        'not UTF-8, gzipped',
        () => gzipSync(NOT_UTF8),
        { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        400,
        /not valid UTF-8/,
      ],
      ['whitespace', () => '   \n ', { 'content-type': 'application/json' }, 400, /not valid JSON/],
      ['a string', () => '"just a string"', { 'content-type': 'application/json' }, 400, /not valid JSON/],
      ['cut short', () => '{"type": "sell",', { 'content-type': 'application/json' }, 400, /not valid JSON/],
      ['a lone surrogate', () => '{"type":"sell","rate":"\\ud800"}', { 'content-type': 'application/json' }, 400, /body\.rate/],
      ['nested 17 deep', () => `{"a":${'['.repeat(16)}${']'.repeat(16)}}`, { 'content-type': 'application/json' }, 400, /nest at most 16/],
      [
        '70 KB with its length',
        () => JSON.stringify({ ...CREATE, pad: 'x'.repeat(70_000) }),
        { 'content-type': 'application/json' },
        413,
        /64 KB/,
      ],
      ['80 KB streamed', () => streamOf(80, 1024), { 'content-type': 'application/json' }, 413, /64 KB/],
    ];
    for (const [what, body, headers, status, detail] of cases) {
      const answer = await post(body(), headers);
      expect({ what, status: answer.status, type: answer.type }).toEqual({ what, status, type: 'application/problem+json; charset=utf-8' });
      expect(answer.json).toMatchObject({ status, type: expect.stringMatching(/^https:\/\/settle\.dev\/problems\//) as unknown });
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
