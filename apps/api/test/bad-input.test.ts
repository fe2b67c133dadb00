import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageOrder, startApi, type Harness, type StagedOrder } from './harness';
import { testTxHash } from '@settle/testkit';

let api: Harness;
let user: string;
let staged: StagedOrder;
let requests = 0;
beforeAll(async () => {
  api = await startApi();
  user = await api.token('user', 'u-fuzz');
  await api.token('merchant', 'm-fuzz');
  staged = await stageOrder(api, 'sell', 'payment_sent');
});
afterAll(async () => {
  // The issue asks for at least 2,000 generated bad requests.
  expect(requests).toBeGreaterThanOrEqual(2000);
  await api.close();
});

const VALID_CREATE = {
  type: 'sell',
  merchantId: 'm-fuzz',
  cryptoAmount: '10.5',
  cryptoCurrency: 'USDT',
  fiatAmount: '38.56',
  fiatCurrency: 'AED',
  rate: '3.6725',
  paymentMethod: 'upi',
} as const;
const REQUIRED = ['type', 'cryptoAmount', 'fiatAmount', 'fiatCurrency', 'rate', 'paymentMethod'] as const;

/** Values no field of the API accepts where a decimal string, enum or id is expected. */
const poison = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constant(1e308),
  fc.constant(-1),
  fc.constant('-1'),
  fc.constant('0'),
  fc.constant('0.000'),
  fc.constant('1e5'),
  fc.constant('NaN'),
  fc.constant(''),
  fc.constant('9'.repeat(40)),
  fc.constant('١٢٣'),
  fc.constant('1.5.5'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((text) => `\u202e${text}`),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

/** Not a string, or a string no id, hash, wallet or text field accepts. */
const poisonText = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.constant(''),
  fc.constant('   '),
  fc.constant('x'.repeat(1001)),
  fc.constant('has spaces and-dashes!'),
  fc.constant('\u0000\u0001'),
  fc.constant('٣٤٥٦٧٨٩٠١٢'),
);

const badCreateBody = fc.oneof(
  fc.tuple(fc.constantFrom(...REQUIRED), poison).map(([field, value]) => ({ ...VALID_CREATE, [field]: value })),
  fc.constantFrom(...REQUIRED).map((field) => Object.fromEntries(Object.entries(VALID_CREATE).filter(([key]) => key !== field))),
  fc
    .string({ minLength: 1, maxLength: 12 })
    .filter(
      (key) =>
        !(key in VALID_CREATE) &&
        !['feeBps', 'paymentDetails', 'buyerWalletAddress'].includes(key) &&
        !['__proto__', 'constructor'].includes(key),
    )
    .map((key) => ({ ...VALID_CREATE, [key]: 'x' })),
  fc.constantFrom('buy').map((type) => ({ ...VALID_CREATE, type, buyerWalletAddress: 'short' })),
  fc.integer({ min: 10_001 }).map((feeBps) => ({ ...VALID_CREATE, feeBps })),
  fc
    .constantFrom('merchant with spaces', 'x'.repeat(200), '../../etc', 'm-unknown-merchant')
    .map((merchantId) => ({ ...VALID_CREATE, merchantId })),
  fc.oneof(fc.constant([]), fc.constant('a string'), fc.constant(42), fc.constant(null)),
);

const badJson = fc.oneof(
  fc.constantFrom('{', '{"type":', '[1,2', '{"a":1,}', "{'single':1}", 'undefined', '{"type":"sell"}garbage'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 50 }).filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  }),
);

const badUuid = fc.oneof(
  fc.constantFrom('not-a-uuid', '123', "1' OR '1'='1", '00000000-0000-0000-0000-00000000000g', '%E2%98%83'),
  fc
    .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 })
    .filter((text) => !/^[0-9a-f-]{36}$/i.test(text))
    .map((text) => encodeURIComponent(text)),
);

const ACTIONS = [
  'accept',
  'escrow',
  'payment-sent',
  'release',
  'cancel',
  'cancel-request',
  'extension-request',
  'extension-accept',
  'dispute',
  'dispute/resolve',
];
const badActionBody = fc.oneof(
  fc.record({ txHash: poisonText }),
  fc.record({ walletAddress: poisonText }),
  fc.record({
    reason: fc.oneof(
      fc.constant(null),
      fc.integer(),
      fc.constant(''),
      fc.constant('   '),
      fc.constant('r'.repeat(1001)),
      fc.constant('nul \u0000 inside'),
    ),
  }),
  fc.record({
    outcome: fc.string({ maxLength: 10 }).filter((value) => value !== 'release' && value !== 'refund'),
    txHash: fc.constant(testTxHash('abcdef12')),
    note: fc.constant('n'),
  }),
  fc.dictionary(
    fc
      .string({ minLength: 1, maxLength: 8 })
      .filter(
        (key) =>
          ![
            'txHash',
            'walletAddress',
            'reason',
            'outcome',
            'note',
            'refundTxHash',
            'funderWallet',
            'paymentReference',
            'evidence',
          ].includes(key) && !['__proto__', 'constructor'].includes(key),
      ),
    fc.string(),
    { minKeys: 1, maxKeys: 3 },
  ),
);

async function expectProblem(response: { status: number; body: unknown; headers: Headers }): Promise<void> {
  requests += 1;
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
  const body = response.body as Record<string, unknown>;
  expect(typeof body['type']).toBe('string');
  expect(typeof body['title']).toBe('string');
  expect(body['status']).toBe(response.status);
  expect(typeof body['detail']).toBe('string');
  expect((body['detail'] as string).length).toBeGreaterThan(5);
}

describe('generated bad input answers only 4xx problem+json and changes nothing', () => {
  it('bad create bodies (wrong types, missing or unknown fields, huge and negative numbers, unicode)', async () => {
    const before = await api.counts();
    await fc.assert(
      fc.asyncProperty(badCreateBody, async (body) => {
        await expectProblem(await api.call('POST', '/v1/orders', { token: user, body }));
      }),
      { numRuns: 900 },
    );
    expect(await api.counts()).toEqual(before);
  });

  it('bad JSON and wrong content types', async () => {
    const before = await api.counts();
    await fc.assert(
      fc.asyncProperty(badJson, async (raw) => {
        await expectProblem(await api.call('POST', '/v1/orders', { token: user, raw, headers: { 'content-type': 'application/json' } }));
      }),
      { numRuns: 300 },
    );
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const response = await api.call('POST', '/v1/orders', {
        token: user,
        raw: JSON.stringify(VALID_CREATE),
        headers: { 'content-type': type },
      });
      expect(response.status).toBe(415);
      await expectProblem(response);
    }
    const huge = await api.call('POST', '/v1/orders', {
      token: user,
      raw: JSON.stringify({ ...VALID_CREATE, pad: 'x'.repeat(70_000) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.status).toBe(413);
    await expectProblem(huge);
    expect(await api.counts()).toEqual(before);
  });

  it('bad ids in paths and bad action bodies, on a real order', async () => {
    const before = await api.counts();
    const beforeRow = await api.pool.query('SELECT * FROM orders WHERE id = $1', [staged.order.id]);
    await fc.assert(
      fc.asyncProperty(badUuid, fc.constantFrom(...ACTIONS), async (id, action) => {
        await expectProblem(await api.call('POST', `/v1/orders/${id}/${action}`, { token: staged.tokens.seller, body: {} }));
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(badActionBody, fc.constantFrom(...ACTIONS), async (body, action) => {
        await expectProblem(
          await api.call('POST', `/v1/orders/${staged.order.id}/${action}`, {
            token: staged.tokens.seller,
            body,
            headers: { 'idempotency-key': 'fuzz-key-0001' },
          }),
        );
      }),
      { numRuns: 500 },
    );
    expect(await api.counts()).toEqual(before);
    expect((await api.pool.query('SELECT * FROM orders WHERE id = $1', [staged.order.id])).rows).toEqual(beforeRow.rows);
  });

  it('bad query strings and headers', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['/v1/orders?limit=0', {}],
      ['/v1/orders?limit=100000', {}],
      ['/v1/orders?limit=abc', {}],
      ['/v1/orders?status=pending_forever', {}],
      ['/v1/orders?role=king', {}],
      ['/v1/orders?cursor=%%%', {}],
      ['/v1/orders?cursor=eyJub3QiOiJvdXJzIn0', {}],
      ['/v1/orders?unknown=1', {}],
    ];
    for (const [path, headers] of cases) await expectProblem(await api.call('GET', path, { token: user, headers }));
    const badIfMatch = await api.call('POST', `/v1/orders/${staged.order.id}/dispute`, {
      token: staged.tokens.seller,
      body: { reason: 'x' },
      headers: { 'if-match': 'banana' },
    });
    expect(badIfMatch.status).toBe(400);
    await expectProblem(badIfMatch);
    const badKey = await api.call('POST', `/v1/orders/${staged.order.id}/release`, {
      token: staged.tokens.seller,
      body: { txHash: testTxHash('abcdef123') },
      headers: { 'idempotency-key': 'a b' },
    });
    expect(badKey.status).toBe(400);
    await expectProblem(badKey);
  });
});
