import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BookSummary, OrderView } from '@settle/domain';
import { stageOrder, startApi, type Harness } from './harness';
import { testAddress, testTxHash } from '@settle/testkit';

let api: Harness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

const sellBody = {
  type: 'sell',
  cryptoAmount: '50',
  cryptoCurrency: 'USDT',
  fiatAmount: '183.63',
  fiatCurrency: 'AED',
  rate: '3.6725',
  paymentMethod: 'cash',
};

describe('the order book', () => {
  it('a book order accepted by 20 merchants at once: one 200 (now the party), 19 × 409, one event', async () => {
    const user = await api.token('user', 'u-book-race');
    const created = await api.call<OrderView>('POST', '/v1/orders', { token: user, body: sellBody });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ bookOrder: true, merchantId: null, buyer: null });
    const merchants = await Promise.all(
      Array.from({ length: 20 }, (_, index) => api.token('merchant', `m-race-${index}`, testAddress(`race-${index}`))),
    );
    const before = await api.counts();

    const responses = await Promise.all(
      merchants.map((token) => api.call<OrderView>('POST', `/v1/orders/${created.body.id}/accept`, { token, body: {} })),
    );
    const winners = responses.filter((response) => response.status === 200);
    expect(winners).toHaveLength(1);
    expect(
      responses.filter((response) => response.status === 409).length,
      JSON.stringify(responses.map((r) => [r.status, (r.body as { detail?: string }).detail])),
    ).toBe(19);
    const winner = winners[0]?.body as OrderView;
    expect(winner.buyer).toEqual({ kind: 'merchant', id: winner.merchantId });
    expect(winner.recipientWallet).toBe(testAddress(`race-${winner.merchantId?.replace('m-race-', '') ?? ''}`));
    expect(await api.counts()).toEqual({ ...before, events: before.events + 1, outbox: before.outbox + 1 });

    const loser = merchants.find((_, index) => `m-race-${index}` !== winner.merchantId) as string;
    expect((await api.call('GET', `/v1/orders/${created.body.id}`, { token: loser })).status).toBe(404);
  });

  it('GET /v1/orders/book lists open book orders as public summaries for merchants only', async () => {
    const user = await api.token('user', 'u-book-list');
    const created = await api.call<OrderView>('POST', '/v1/orders', { token: user, body: sellBody });
    const merchant = await api.token('merchant', 'm-book-reader');
    const book = await api.call<{ items: BookSummary[]; bookSeq: number }>('GET', '/v1/orders/book', { token: merchant });
    expect(book.status).toBe(200);
    expect(typeof book.body.bookSeq).toBe('number');
    const entry = book.body.items.find((item) => item.id === created.body.id);
    // The order's terms as they were sent (type, amounts, rate, payment method), and nothing of its parties.
    expect(entry).toEqual({
      ...sellBody,
      id: created.body.id,
      orderNumber: created.body.orderNumber,
      network: 'tron',
      status: 'open',
      orderVersion: 1,
      createdAt: created.body.createdAt,
      expiresAt: created.body.expiresAt,
    });
    expect((await api.call('GET', '/v1/orders/book', { token: user })).status).toBe(403);
  });

  it('a merchant cannot accept its own M2M book order, and does not see it in its book', async () => {
    const merchant = await api.token('merchant', 'm-own-m2m');
    const created = await api.call<OrderView>('POST', '/v1/orders', { token: merchant, body: { ...sellBody, type: 'm2m' } });
    expect(created.status).toBe(201);
    const accept = await api.call('POST', `/v1/orders/${created.body.id}/accept`, {
      token: merchant,
      body: { walletAddress: testAddress('own') },
    });
    expect(accept.status).toBe(403);
    expect(accept.body['detail']).toBe('merchants may not accept their own M2M orders');
    const book = await api.call<{ items: BookSummary[] }>('GET', '/v1/orders/book', { token: merchant });
    expect(book.body.items.some((item) => item.id === created.body.id)).toBe(false);
  });
});

describe('escrow idempotency', () => {
  it('the same hash again answers 200 with no new event; another hash 409; a hash of another order 409', async () => {
    const first = await stageOrder(api, 'sell', 'escrowed');
    const before = await api.counts();
    const again = await api.call<OrderView>('POST', `/v1/orders/${first.order.id}/escrow`, {
      token: first.tokens.seller,
      body: { txHash: first.order.escrowTxHash },
    });
    expect(again.status).toBe(200);
    expect(again.body.orderVersion).toBe(first.order.orderVersion);
    expect(await api.counts()).toEqual(before);

    const other = await api.call('POST', `/v1/orders/${first.order.id}/escrow`, {
      token: first.tokens.seller,
      body: { txHash: testTxHash('somethingelse') },
    });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ orderVersion: first.order.orderVersion, orderStatus: 'escrowed' });

    const second = await stageOrder(api, 'sell', 'accepted');
    const beforeReuse = await api.counts();
    const reused = await api.call('POST', `/v1/orders/${second.order.id}/escrow`, {
      token: second.tokens.seller,
      body: { txHash: first.order.escrowTxHash },
    });
    expect(reused.status).toBe(409);
    expect(reused.body['detail']).toBe(
      `transaction hash ${first.order.escrowTxHash} is already used by another order on tron: one on-chain transaction settles one order`,
    );
    expect(reused.body).toMatchObject({ orderVersion: second.order.orderVersion, orderStatus: 'accepted' });
    expect(await api.counts()).toEqual(beforeReuse);
    const unchanged = await api.call<OrderView>('GET', `/v1/orders/${second.order.id}`, { token: second.tokens.seller });
    expect(unchanged.body).toMatchObject({ status: 'accepted', escrowTxHash: null, orderVersion: second.order.orderVersion });
  });

  it("a release hash may not reuse another order's escrow hash", async () => {
    const first = await stageOrder(api, 'buy', 'escrowed');
    const second = await stageOrder(api, 'buy', 'payment_sent');
    const response = await api.call('POST', `/v1/orders/${second.order.id}/release`, {
      token: second.tokens.seller,
      body: { txHash: first.order.escrowTxHash },
      headers: { 'idempotency-key': 'reuse-escrow-hash-1' },
    });
    expect(response.status).toBe(409);
  });
});

describe('recipient wallet over the API', () => {
  it("BUY: the user's given wallet, never the accepting merchant's", async () => {
    const staged = await stageOrder(api, 'buy', 'accepted');
    expect(staged.order.acceptorWalletAddress).toBeNull();
    expect(staged.order.recipientWallet).toBe(staged.order.buyerWalletAddress);
    expect(staged.order.recipientWallet).toMatch(/^T/);
  });
  it("SELL: the accepting merchant's wallet", async () => {
    const staged = await stageOrder(api, 'sell', 'escrowed');
    expect(staged.order.acceptorWalletAddress).toMatch(/^T/);
    expect(staged.order.recipientWallet).toBe(staged.order.acceptorWalletAddress);
    expect(staged.order.escrowRecipientWallet).toBe(staged.order.acceptorWalletAddress);
  });
  it("M2M: the buying merchant's wallet, or its profile wallet when it gave none", async () => {
    const staged = await stageOrder(api, 'm2m', 'accepted');
    expect(staged.order.acceptorWalletAddress).toMatch(/^T/);
    expect(staged.order.recipientWallet).toBe(staged.order.acceptorWalletAddress);
    const seller = await api.token('merchant', 'm-m2m-seller-profile', testAddress('seller-profile'));
    const buyerToken = await api.token('merchant', 'm-m2m-buyer-profile', testAddress('buyer-profile'));
    const created = await api.call<OrderView>('POST', '/v1/orders', {
      token: seller,
      body: { ...sellBody, type: 'm2m', merchantId: 'm-m2m-buyer-profile' },
    });
    const accepted = await api.call<OrderView>('POST', `/v1/orders/${created.body.id}/accept`, { token: buyerToken, body: {} });
    expect(accepted.status).toBe(200);
    expect(accepted.body.recipientWallet).toBe(testAddress('buyer-profile'));
  });
});
