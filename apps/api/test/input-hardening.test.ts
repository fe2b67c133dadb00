import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageOrder, startApi, type Harness, type StagedOrder } from './harness';
import { startLoggedApp, type LoggedApp } from './logged-app';

// No client input may answer 5xx: JSON nested thousands of levels deep, lone UTF-16 surrogates, forged cursors and
// bodies that do not decode each answer a 400 problem document that says what to fix, and write nothing.

let api: Harness;
let logged: LoggedApp;
let user: string;
let escrowed: StagedOrder;
let fixtureRows: unknown[];
beforeAll(async () => {
  api = await startApi();
  logged = await startLoggedApp(api);
  user = await api.token('user', 'u-hardening');
  await api.token('merchant', 'm-hardening');
  escrowed = await stageOrder(api, 'sell', 'escrowed');
  fixtureRows = (await api.pool.query('SELECT * FROM orders ORDER BY id')).rows;
});
afterAll(async () => {
  await logged.close();
  await api.close();
});

type Body = NonNullable<RequestInit['body']>;
interface Answer {
  status: number;
  type: string | null;
  problem: { type?: string; status?: number; detail?: string; [key: string]: unknown };
  headers: Headers;
}

async function send(
  method: string,
  path: string,
  body: Body | undefined,
  headers: Record<string, string>,
  base = api.url,
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    problem: text === '' ? {} : (JSON.parse(text) as Answer['problem']),
    headers: response.headers,
  };
}

const json = { 'content-type': 'application/json' };
const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function expectBadRequest(answer: Answer, detail: RegExp): void {
  expect({ status: answer.status, type: answer.type }).toEqual({ status: 400, type: 'application/problem+json; charset=utf-8' });
  expect(answer.problem).toMatchObject({ type: 'https://settle.dev/problems/invalid-input', status: 400 });
  expect(answer.problem.detail).toMatch(detail);
}

/** The orders are as the last successful step left them (counts of events and outbox rows are compared too). */
async function expectNothingWritten(): Promise<void> {
  expect((await api.pool.query('SELECT * FROM orders ORDER BY id')).rows).toEqual(fixtureRows);
}

const CREATE = {
  type: 'sell',
  merchantId: 'm-hardening',
  cryptoAmount: '100',
  fiatAmount: '367.25',
  fiatCurrency: 'AED',
  rate: '3.6725',
  paymentMethod: 'upi',
};
const deepArray = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const deepObject = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe('JSON nested deeper than 16 levels answers 400 before anything recursive runs', () => {
  it('5,000 levels (10 KB) in a create, an action and a dev-token body, plain and gzip-compressed', async () => {
    const before = await api.counts();
    const create = `{"type":"sell","paymentDetails":${deepArray(5000)}}`;
    expect(create.length).toBeGreaterThan(10_000);
    expectBadRequest(await send('POST', '/v1/orders', create, { ...json, ...auth(user) }), /nest at most 16 levels/);
    expectBadRequest(
      await send('POST', '/v1/orders', gzipSync(create), { ...json, 'content-encoding': 'gzip', ...auth(user) }),
      /nest at most 16 levels/,
    );
    expectBadRequest(
      await send('POST', '/v1/orders', Buffer.from(deepObject(5000), 'utf16le'), {
        'content-type': 'application/json; charset=utf-16le',
        ...auth(user),
      }),
      /nest at most 16 levels/,
    );
    expectBadRequest(
      await send('POST', `/v1/orders/${escrowed.order.id}/cancel-request`, `{"reason":${deepArray(5000)}}`, {
        ...json,
        ...auth(escrowed.tokens.buyer),
      }),
      /nest at most 16 levels/,
    );
    expectBadRequest(await send('POST', '/v1/dev/tokens', deepObject(5000), json), /nest at most 16 levels/);
    expectBadRequest(
      await send('PATCH', `/api/orders/${escrowed.order.id}/escrow`, `{"tx_hash":"x","actor_type":${deepObject(3000)}}`, {
        ...json,
        ...auth(escrowed.tokens.seller),
      }),
      /nest at most 16 levels/,
    );
    expect(await api.counts()).toEqual(before);
    await expectNothingWritten();
  });

  it('a body nested 16 levels is still read (and then validated)', async () => {
    const answer = await send('POST', '/v1/orders', `{"type":"sell","paymentDetails":${'['.repeat(15)}${']'.repeat(15)}}`, {
      ...json,
      ...auth(user),
    });
    expectBadRequest(answer, /body\.paymentDetails/);
  });
});

describe('every string must be well-formed Unicode: a lone surrogate answers 400 naming the field', () => {
  const cases: Array<[string, () => [string, string, string, Record<string, string>], RegExp]> = [
    [
      'a cancel request reason',
      () => ['POST', `/v1/orders/${escrowed.order.id}/cancel-request`, '{"reason":"\\ud800"}', auth(escrowed.tokens.buyer)],
      /body\.reason: text must be well-formed Unicode/,
    ],
    [
      'a dispute reason (a high surrogate at the end)',
      () => ['POST', `/v1/orders/${escrowed.order.id}/dispute`, '{"reason":"paid \\ud83d"}', auth(escrowed.tokens.buyer)],
      /body\.reason: text must be well-formed/,
    ],
    [
      'dispute evidence',
      () => [
        'POST',
        `/v1/orders/${escrowed.order.id}/dispute`,
        '{"reason":"not paid","evidence":["ok","\\udc00x"]}',
        auth(escrowed.tokens.buyer),
      ],
      /body\.evidence\.1: text must be well-formed/,
    ],
    [
      'a payment reference',
      () => ['POST', `/v1/orders/${escrowed.order.id}/payment-sent`, '{"paymentReference":"UTR\\udfff"}', auth(escrowed.tokens.buyer)],
      /body\.paymentReference/,
    ],
    [
      "a create's paymentDetails value",
      () => ['POST', '/v1/orders', JSON.stringify(CREATE).replace(/}$/, ',"paymentDetails":{"iban":"AE07\\ud800"}}'), auth(user)],
      /body\.paymentDetails\.iban: text must be well-formed/,
    ],
    [
      'a field name',
      () => ['POST', '/v1/orders', JSON.stringify(CREATE).replace(/}$/, ',"paymentDetails":{"\\ud800":"x"}}'), auth(user)],
      /a field name in body\.paymentDetails: text must be well-formed/,
    ],
    [
      "a dev token's name",
      () => ['POST', '/v1/dev/tokens', '{"role":"user","id":"u-surrogate","name":"\\ud800"}', {}],
      /body\.name: text must be well-formed/,
    ],
    [
      'a webhook description',
      () => ['POST', '/v1/webhooks', '{"url":"https://merchant.example/hook","description":"\\ud800"}', {}],
      /body\.description: text must be well-formed/,
    ],
    [
      "the legacy release's ignored actor fields",
      () => ['PATCH', `/api/orders/${escrowed.order.id}/escrow`, '{"tx_hash":"0x00","actor_id":"\\ud800"}', auth(escrowed.tokens.seller)],
      /body\.actor_id: text must be well-formed/,
    ],
  ];
  for (const [what, request, detail] of cases) {
    it(`${what}, plain and gzip-compressed`, async () => {
      const before = await api.counts();
      const [method, path, body, headers] = request();
      const merchant = path === '/v1/webhooks' ? auth(await api.token('merchant', 'm-hardening')) : {};
      expectBadRequest(await send(method, path, body, { ...json, ...headers, ...merchant }), detail);
      expectBadRequest(await send(method, path, gzipSync(body), { ...json, 'content-encoding': 'gzip', ...headers, ...merchant }), detail);
      expect(await api.counts()).toEqual(before);
      await expectNothingWritten();
    });
  }

  it('well-formed text beyond the BMP (a surrogate pair) is accepted and stored', async () => {
    const staged = await stageOrder(api, 'sell', 'escrowed');
    const answer = await send('POST', `/v1/orders/${staged.order.id}/cancel-request`, '{"reason":"changed my mind \\ud83d\\ude00"}', {
      ...json,
      ...auth(staged.tokens.buyer),
    });
    expect(answer.status).toBe(200);
    expect(answer.problem['cancelReason']).toBe('changed my mind 😀');
    fixtureRows = (await api.pool.query('SELECT * FROM orders ORDER BY id')).rows;
  });
});

describe('a forged pagination cursor answers 400, never a database error', () => {
  const cursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const id = '00000000-0000-4000-8000-000000000000';
  const forged: Array<[string, string]> = [
    ['an id that is not a UUID', cursor({ createdAt: '2020-01-01T00:00:00Z', id: 'not-a-uuid' })],
    ['a time without milliseconds', cursor({ createdAt: '2020-01-01T00:00:00Z', id })],
    ['year +275760', cursor({ createdAt: '+275760-09-13T00:00:00Z', id })],
    ['year 0000 (Postgres has none)', cursor({ createdAt: '0000-01-01T00:00:00.000Z', id })],
    ['February 30', cursor({ createdAt: '2020-02-30T00:00:00.000Z', id })],
    ['24:00', cursor({ createdAt: '2020-01-01T24:00:00.000Z', id })],
    ['a leap second', cursor({ createdAt: '2016-12-31T23:59:60.000Z', id })],
    ['"0"', cursor('0')],
    ['0', cursor(0)],
    ['null', cursor(null)],
    ['an array', cursor([])],
    ['a time that is a number', cursor({ createdAt: 0, id })],
    ['not base64url JSON', 'not-a-cursor'],
  ];
  for (const [what, value] of forged) {
    it(what, async () => {
      const answer = await send('GET', `/v1/orders?limit=1&cursor=${encodeURIComponent(value)}`, undefined, auth(user));
      expectBadRequest(answer, /cursor is not one this API issued for this sort: pass nextCursor from the previous page unchanged/);
    });
  }

  it('a cursor the API issued pages on', async () => {
    await api.token('merchant', 'm-pages');
    const pager = await api.token('user', 'u-pages');
    for (let i = 0; i < 2; i += 1)
      expect((await api.call('POST', '/v1/orders', { token: pager, body: { ...CREATE, merchantId: 'm-pages' } })).status).toBe(201);
    const first = await api.call<{ items: Array<{ id: string }>; nextCursor: string | null }>('GET', '/v1/orders?limit=1', {
      token: pager,
    });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api.call<{ items: Array<{ id: string }>; nextCursor: string | null }>(
      'GET',
      `/v1/orders?limit=1&cursor=${first.body.nextCursor ?? ''}`,
      { token: pager },
    );
    expect(second.status).toBe(200);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.items[0]?.id).not.toBe(first.body.items[0]?.id);
    fixtureRows = (await api.pool.query('SELECT * FROM orders ORDER BY id')).rows;
  });
});

describe('a body or URL that does not decode answers 400', () => {
  it('a corrupt gzip body answers 400 with no token at all, and on an action route', async () => {
    const before = await api.counts();
    const detail = /does not decompress: send it as its Content-Encoding says/;
    expectBadRequest(await send('POST', '/v1/orders', 'not gzip!!', { ...json, 'content-encoding': 'gzip' }), detail);
    expectBadRequest(
      await send('POST', `/v1/orders/${escrowed.order.id}/cancel`, 'not gzip!!', {
        ...json,
        'content-encoding': 'gzip',
        ...auth(escrowed.tokens.buyer),
      }),
      detail,
    );
    expectBadRequest(await send('POST', '/v1/orders', 'not deflate', { ...json, 'content-encoding': 'deflate', ...auth(user) }), detail);
    expectBadRequest(
      await send('POST', '/v1/orders', gzipSync(JSON.stringify(CREATE)).subarray(0, 20), {
        ...json,
        'content-encoding': 'gzip',
        ...auth(user),
      }),
      detail,
    );
    expect(await api.counts()).toEqual(before);
    await expectNothingWritten();
  });

  it('a path with broken percent-encoding answers 400', async () => {
    expectBadRequest(await send('GET', '/v1/orders/%E0%A4%A', undefined, auth(user)), /percent-encoding/);
    expectBadRequest(await send('POST', '/v1/orders/%ED%A0%80/cancel', '{}', { ...json, ...auth(user) }), /percent-encoding/);
  });
});

describe('a refused input is logged once, at warn, without a stack trace', () => {
  it('a corrupt gzip body and a lone surrogate each write one warn line with the detail and the request id', async () => {
    for (const [path, body, headers] of [
      ['/v1/orders', 'not gzip!!', { ...json, 'content-encoding': 'gzip' }],
      [`/v1/orders/${escrowed.order.id}/cancel-request`, '{"reason":"\\ud800"}', { ...json, ...auth(escrowed.tokens.buyer) }],
      ['/v1/orders', `{"a":${deepArray(5000)}}`, { ...json, ...auth(user) }],
    ] as const) {
      const requestId = `hardening-${Math.random().toString(36).slice(2)}`;
      const answer = await send('POST', path, body, { ...headers, 'x-request-id': requestId }, logged.url);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('x-request-id')).toBe(requestId);
      const lines = logged.lines().filter((line) => line['requestId'] === requestId);
      expect(lines).toEqual([expect.objectContaining({ level: 40, method: 'POST', path, status: 400, detail: answer.problem.detail })]);
      expect(JSON.stringify(lines)).not.toMatch(/stack|"err"|authorization|Bearer/i);
    }
  });
});
