import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderView } from '@settle/domain';
import { stageOrder, startApi, type Harness, type StagedOrder } from './harness';
import { testAddress, testTxHash } from '@settle/testkit';

let api: Harness;
let strangers: { user: string; merchant: string; compliance: string };
beforeAll(async () => {
  api = await startApi();
  strangers = {
    user: await api.token('user', 'u-stranger'),
    merchant: await api.token('merchant', 'm-stranger'),
    compliance: await api.token('compliance', 'c-officer'),
  };
});
afterAll(async () => {
  await api.close();
});

type Who = 'creator' | 'counterparty' | 'seller' | 'buyer' | 'compliance';
type Caller = 'creator' | 'counterparty' | 'strangerUser' | 'strangerMerchant' | 'compliance';

/** DOMAIN.md's answer per action: who may, from which status. Everyone else: stranger 404, others 403. */
const CELLS: Array<{ path: string; status: OrderView['status']; who: Who[]; body: (n: number) => unknown }> = [
  { path: 'accept', status: 'open', who: ['counterparty'], body: () => ({ walletAddress: testAddress('matrix') }) },
  { path: 'escrow', status: 'accepted', who: ['seller'], body: (n) => ({ txHash: testTxHash(`matrixescrow${n}`) }) },
  { path: 'payment-sent', status: 'escrowed', who: ['buyer'], body: () => ({}) },
  { path: 'release', status: 'payment_sent', who: ['seller'], body: (n) => ({ txHash: testTxHash(`matrixrelease${n}`) }) },
  { path: 'cancel', status: 'open', who: ['creator'], body: () => ({ reason: 'matrix' }) },
  { path: 'cancel', status: 'accepted', who: ['creator', 'counterparty'], body: () => ({ reason: 'matrix' }) },
  {
    path: 'cancel',
    status: 'escrowed',
    who: ['buyer'],
    body: (n) => ({ reason: 'matrix', refundTxHash: testTxHash(`matrixcancelrefund${n}`) }),
  },
  { path: 'cancel-request', status: 'payment_sent', who: ['creator', 'counterparty'], body: () => ({ reason: 'matrix' }) },
  { path: 'extension-request', status: 'escrowed', who: ['creator', 'counterparty'], body: () => ({}) },
  { path: 'dispute', status: 'payment_sent', who: ['creator', 'counterparty'], body: () => ({ reason: 'matrix' }) },
  {
    path: 'dispute/resolve',
    status: 'disputed',
    who: ['compliance'],
    body: (n) => ({ outcome: 'refund', txHash: testTxHash(`matrixrefund${n}`), note: 'checked' }),
  },
];
const CALLERS: Caller[] = ['creator', 'counterparty', 'strangerUser', 'strangerMerchant', 'compliance'];

function tokenOf(staged: StagedOrder, caller: Caller): string {
  if (caller === 'strangerUser') return strangers.user;
  if (caller === 'strangerMerchant') return strangers.merchant;
  if (caller === 'compliance') return strangers.compliance;
  return staged.tokens[caller];
}

function plays(type: 'buy' | 'sell' | 'm2m', caller: Caller): Who[] {
  if (caller === 'compliance') return ['compliance'];
  if (caller !== 'creator' && caller !== 'counterparty') return [];
  const creatorSells = type !== 'buy';
  return [caller, (caller === 'creator') === creatorSells ? 'seller' : 'buyer'];
}

let hashes = 0;

describe('authorization matrix: every action × role × (party, other side, stranger) over HTTP', () => {
  for (const type of ['buy', 'sell', 'm2m'] as const) {
    for (const cell of CELLS) {
      it(`${type}: ${cell.path} while ${cell.status}`, async () => {
        const refused = CALLERS.filter((caller) => !cell.who.some((who) => plays(type, caller).includes(who)));
        const allowed = CALLERS.filter((caller) => !refused.includes(caller));
        const staged = await stageOrder(api, type, cell.status);
        const before = await api.counts();
        for (const caller of refused) {
          const response = await api.call('POST', `/v1/orders/${staged.order.id}/${cell.path}`, {
            token: tokenOf(staged, caller),
            body: cell.body((hashes += 1)),
            headers: { 'idempotency-key': `matrix-key-${hashes}` },
          });
          const expected = caller.startsWith('stranger') ? 404 : 403;
          expect({ caller, status: response.status, type: response.headers.get('content-type') }).toEqual({
            caller,
            status: expected,
            type: 'application/problem+json; charset=utf-8',
          });
        }
        expect(await api.counts()).toEqual(before);
        for (const caller of allowed) {
          const fresh = caller === allowed[0] ? staged : await stageOrder(api, type, cell.status);
          const response = await api.call<OrderView>('POST', `/v1/orders/${fresh.order.id}/${cell.path}`, {
            token: tokenOf(fresh, caller),
            body: cell.body((hashes += 1)),
            headers: { 'idempotency-key': `matrix-key-${hashes}` },
          });
          expect({ caller, status: response.status }).toEqual({ caller, status: 200 });
          expect(response.body.orderVersion).toBe(fresh.order.orderVersion + 1);
        }
      });
    }
  }

  it('every action on an order in a status that has no such transition answers 409 and changes nothing', async () => {
    const staged = await stageOrder(api, 'sell', 'completed');
    const before = await api.counts();
    for (const cell of CELLS) {
      const caller = cell.who.includes('compliance') ? strangers.compliance : staged.tokens[cell.who[0] as 'seller'];
      const response = await api.call('POST', `/v1/orders/${staged.order.id}/${cell.path}`, {
        token: caller,
        body: cell.body((hashes += 1)),
        headers: { 'idempotency-key': `matrix-key-${hashes}` },
      });
      expect({ path: cell.path, status: response.status }).toEqual({ path: cell.path, status: 409 });
    }
    expect(await api.counts()).toEqual(before);
  });

  it('reading: parties and compliance see an order; strangers get 404; no token 401; a bad token 401', async () => {
    const staged = await stageOrder(api, 'buy', 'accepted');
    const path = `/v1/orders/${staged.order.id}`;
    for (const token of [staged.tokens.creator, staged.tokens.counterparty, strangers.compliance]) {
      const response = await api.call('GET', path, { token });
      expect(response.status).toBe(200);
      expect(response.headers.get('etag')).toBe(`"${staged.order.orderVersion}"`);
    }
    for (const token of [strangers.user, strangers.merchant]) expect((await api.call('GET', path, { token })).status).toBe(404);
    const anonymous = await api.call('GET', path);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body['detail']).toBe('send a bearer token: Authorization: Bearer <jwt>');
    expect((await api.call('GET', path, { token: `${staged.tokens.creator}x` })).status).toBe(401);
  });

  it('the order list shows only your orders; compliance sees all', async () => {
    const staged = await stageOrder(api, 'sell', 'escrowed');
    const mine = await api.call<{ items: OrderView[] }>('GET', '/v1/orders?limit=200', { token: staged.tokens.creator });
    expect(mine.body.items.map((order) => order.id)).toEqual([staged.order.id]);
    const asSeller = await api.call<{ items: OrderView[] }>('GET', '/v1/orders?role=buyer', { token: staged.tokens.creator });
    expect(asSeller.body.items).toEqual([]);
    const others = await api.call<{ items: OrderView[] }>('GET', '/v1/orders?limit=200', { token: strangers.user });
    expect(others.body.items.some((order) => order.id === staged.order.id)).toBe(false);
    const all = await api.call<{ items: OrderView[] }>('GET', '/v1/orders?limit=200', { token: strangers.compliance });
    expect(all.body.items.some((order) => order.id === staged.order.id)).toBe(true);
  });
});
