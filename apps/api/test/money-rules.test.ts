import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BookSummary, OrderView } from '@settle/domain';
import { testAddress, testTxHash } from '@settle/testkit';
import { stageOrder, startApi, type Harness } from './harness';

let api: Harness;
beforeAll(async () => {
  api = await startApi({ PLATFORM_FEE_BPS: '30', MERCHANT_FEE_BPS: 'm-fee-special=12' });
});
afterAll(async () => {
  await api.close();
});

const sellBody = {
  type: 'sell',
  cryptoAmount: '100',
  fiatAmount: '367.25',
  fiatCurrency: 'AED',
  rate: '3.6725',
  paymentMethod: 'upi',
} as const;
let unique = 0;
const fresh = (label: string): string => `${label}-${(unique += 1)}-${Math.random().toString(36).slice(2, 7)}`;

async function step(id: string, path: string, token: string, body: unknown, headers: Record<string, string> = {}) {
  return api.call<OrderView & { detail?: string }>('POST', `/v1/orders/${id}/${path}`, { token, body, headers });
}

describe('one on-chain transaction settles one order', () => {
  it('another spelling of a used escrow hash (case, 0x prefix) answers 409 and changes nothing', async () => {
    const first = await stageOrder(api, 'sell', 'accepted');
    const second = await stageOrder(api, 'sell', 'accepted');
    const hex = testTxHash(fresh('shared-escrow'));
    expect((await step(first.order.id, 'escrow', first.tokens.seller, { txHash: `0x${hex.toUpperCase()}` })).body).toMatchObject({
      status: 'escrowed',
      escrowTxHash: hex,
    });
    const before = await api.counts();
    for (const spelling of [hex, `0x${hex}`, hex.toUpperCase()]) {
      const reused = await step(second.order.id, 'escrow', second.tokens.seller, { txHash: spelling });
      expect(reused.status).toBe(409);
      expect(reused.body.detail).toContain('is already used by another order');
    }
    expect(await api.counts()).toEqual(before);
  });

  it('a release or refund hash used by another order, in any role and spelling, answers 409', async () => {
    const escrowed = await stageOrder(api, 'buy', 'escrowed');
    const paid = await stageOrder(api, 'sell', 'payment_sent');
    const taken = (escrowed.order.escrowTxHash ?? '').toUpperCase();
    const release = await step(
      paid.order.id,
      'release',
      paid.tokens.seller,
      { txHash: `0x${taken}` },
      { 'idempotency-key': fresh('release-key') },
    );
    expect(release.status).toBe(409);
    const refund = await step(escrowed.order.id, 'cancel', escrowed.tokens.buyer, { refundTxHash: paid.order.escrowTxHash });
    expect(refund.status).toBe(409);
    expect((await api.call<OrderView>('GET', `/v1/orders/${paid.order.id}`, { token: paid.tokens.seller })).body.status).toBe(
      'payment_sent',
    );
  });

  it("a release hash equal to the order's own escrow hash answers 409", async () => {
    const paid = await stageOrder(api, 'sell', 'payment_sent');
    const same = await step(
      paid.order.id,
      'release',
      paid.tokens.seller,
      { txHash: `0x${paid.order.escrowTxHash ?? ''}` },
      { 'idempotency-key': fresh('own-hash') },
    );
    expect(same.status).toBe(409);
    expect(same.body.detail).toContain("is the escrow's own transaction");
  });

  it('the database itself refuses a second claim of a canonical hash on one network', async () => {
    const escrowed = await stageOrder(api, 'sell', 'escrowed');
    const other = await stageOrder(api, 'sell', 'accepted');
    await expect(
      api.pool.query(`INSERT INTO tx_hashes (network, hash, order_id, kind) VALUES ('tron', $1, $2, 'escrow')`, [
        escrowed.order.escrowTxHash,
        other.order.id,
      ]),
    ).rejects.toThrow(/tx_hashes_pkey/);
  });

  it('a hash that is not 64 hex digits answers 400 naming the expected form', async () => {
    const accepted = await stageOrder(api, 'sell', 'accepted');
    for (const txHash of ['0xabc', 'g'.repeat(64), `0x${'a'.repeat(63)}`]) {
      const response = await step(accepted.order.id, 'escrow', accepted.tokens.seller, { txHash });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.body.detail).toMatch(/64 hex digits/);
    }
  });

  it('an EVM order stores 0x hashes and EIP-55 addresses; a Tron address there answers 400', async () => {
    const user = await api.token('user', fresh('u-evm'));
    const merchantId = fresh('m-evm');
    const merchant = await api.token('merchant', merchantId);
    const created = await api.call<OrderView & { detail?: string }>('POST', '/v1/orders', {
      token: user,
      body: { ...sellBody, merchantId, network: 'polygon' },
    });
    expect(created.status).toBe(201);
    expect(created.body.network).toBe('polygon');
    const tron = await step(created.body.id, 'accept', merchant, { walletAddress: testAddress('tron-on-evm') });
    expect(tron.status).toBe(400);
    expect(tron.body.detail).toContain('is not a polygon address');
    const evm = testAddress(fresh('evm-wallet'), 'polygon');
    const accepted = await step(created.body.id, 'accept', merchant, { walletAddress: evm.toLowerCase() });
    expect(accepted.body.acceptorWalletAddress).toBe(evm);
    const hex = testTxHash(fresh('evm-escrow'));
    const escrowed = await step(created.body.id, 'escrow', user, { txHash: hex.toUpperCase() });
    expect(escrowed.body).toMatchObject({ escrowTxHash: `0x${hex}`, escrowRecipientWallet: evm });
  });
});

describe('amounts add up and the fee comes from configuration', () => {
  it('a fiat amount that is not crypto × rate answers 400 with the expected amount; nothing is written', async () => {
    const user = await api.token('user', fresh('u-amount'));
    const before = await api.counts();
    const response = await api.call<{ detail: string; expectedFiatAmount: string }>('POST', '/v1/orders', {
      token: user,
      body: { ...sellBody, cryptoAmount: '1000', rate: '3.67', fiatAmount: '1' },
    });
    expect(response.status).toBe(400);
    expect(response.body.detail).toContain('expected 3670.00 AED');
    expect(response.body.expectedFiatAmount).toBe('3670.00');
    expect(await api.counts()).toEqual(before);
  });

  it('a crypto code as fiat currency, or more decimals than the currency has, answers 400', async () => {
    const user = await api.token('user', fresh('u-currency'));
    const usdt = await api.call<{ detail: string }>('POST', '/v1/orders', { token: user, body: { ...sellBody, fiatCurrency: 'USDT' } });
    expect(usdt.status).toBe(400);
    expect(usdt.body.detail).toMatch(/ISO 4217/);
    const decimals = await api.call<{ detail: string }>('POST', '/v1/orders', {
      token: user,
      body: { ...sellBody, fiatAmount: '367.250' },
    });
    expect(decimals.status).toBe(400);
    expect(decimals.body.detail).toContain('more decimals than AED has (2)');
    const crypto = await api.call<{ detail: string }>('POST', '/v1/orders', { token: user, body: { ...sellBody, cryptoCurrency: 'DOGE' } });
    expect(crypto.status).toBe(400);
    expect(crypto.body.detail).toContain('cryptoCurrency DOGE is not traded here');
  });

  it("feeBps in the body is ignored: the merchant's configured fee, else the platform default, is stored", async () => {
    const user = await api.token('user', fresh('u-fee'));
    await api.token('merchant', 'm-fee-special');
    const special = await api.call<OrderView>('POST', '/v1/orders', {
      token: user,
      body: { ...sellBody, merchantId: 'm-fee-special', feeBps: 0 },
    });
    expect(special.status).toBe(201);
    expect(special.body.feeBps).toBe(12);
    const row = await api.pool.query(`SELECT fee_bps FROM orders WHERE id = $1`, [special.body.id]);
    expect(row.rows[0]).toEqual({ fee_bps: 12 });
    const book = await api.call<OrderView>('POST', '/v1/orders', { token: user, body: { ...sellBody, feeBps: 9999 } });
    expect(book.body.feeBps).toBe(30);
  });
});

describe('refunds and compliance', () => {
  it('the buyer cancelling an escrowed order without refundTxHash answers 400; with it the refund is recorded', async () => {
    const staged = await stageOrder(api, 'buy', 'escrowed');
    const before = await api.counts();
    const missing = await step(staged.order.id, 'cancel', staged.tokens.buyer, { reason: 'seller asked' });
    expect(missing.status).toBe(400);
    expect(missing.body.detail).toContain('refundTxHash is required');
    expect(await api.counts()).toEqual(before);
    const refund = testTxHash(fresh('refund'));
    const cancelled = await step(staged.order.id, 'cancel', staged.tokens.buyer, { refundTxHash: refund });
    expect(cancelled.body).toMatchObject({ status: 'cancelled', refundTxHash: refund });
  });

  it('a mutual cancel records the refund hash; agreeing without one answers 400', async () => {
    const staged = await stageOrder(api, 'sell', 'payment_sent');
    expect((await step(staged.order.id, 'cancel-request', staged.tokens.buyer, { reason: 'wrong amount' })).status).toBe(200);
    expect((await step(staged.order.id, 'cancel-agree', staged.tokens.seller, {})).status).toBe(400);
    const refund = testTxHash(fresh('mutual-refund'));
    expect((await step(staged.order.id, 'cancel-agree', staged.tokens.seller, { refundTxHash: refund })).body).toMatchObject({
      status: 'cancelled',
      refundTxHash: refund,
    });
  });

  it('compliance force-cancels an open order (no hash) and an escrowed one (refund hash), audited with who and why', async () => {
    const compliance = await api.token('compliance', 'c-force');
    const open = await stageOrder(api, 'sell', 'open');
    const withHash = await step(
      open.order.id,
      'force-cancel',
      compliance,
      { reason: 'sanctions match', refundTxHash: testTxHash(fresh('x')) },
      { 'idempotency-key': fresh('force-key') },
    );
    expect(withHash.status).toBe(400);
    const cancelled = await step(
      open.order.id,
      'force-cancel',
      compliance,
      { reason: 'sanctions match' },
      { 'idempotency-key': fresh('force-key') },
    );
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      forced: { action: 'force_cancel', reason: 'sanctions match', by: 'c-force' },
    });

    const escrowed = await stageOrder(api, 'buy', 'escrowed');
    expect(
      (await step(escrowed.order.id, 'force-cancel', compliance, { reason: 'fraud report' }, { 'idempotency-key': fresh('force-key') }))
        .status,
    ).toBe(400);
    const refund = testTxHash(fresh('force-refund'));
    expect(
      (
        await step(
          escrowed.order.id,
          'force-cancel',
          compliance,
          { reason: 'fraud report', refundTxHash: refund },
          { 'idempotency-key': fresh('force-key') },
        )
      ).body,
    ).toMatchObject({ status: 'cancelled', refundTxHash: refund });

    const audit = await api.pool.query(
      `SELECT order_id, action, actor_role, actor_id, reason FROM order_audit WHERE order_id = ANY($1::uuid[]) ORDER BY id`,
      [[open.order.id, escrowed.order.id]],
    );
    expect(audit.rows).toEqual([
      { order_id: open.order.id, action: 'force_cancel', actor_role: 'compliance', actor_id: 'c-force', reason: 'sanctions match' },
      { order_id: escrowed.order.id, action: 'force_cancel', actor_role: 'compliance', actor_id: 'c-force', reason: 'fraud report' },
    ]);
    const events = await api.call<{ items: Array<{ type: string; actor: unknown }> }>('GET', `/v1/orders/${escrowed.order.id}/events`, {
      token: compliance,
    });
    expect(events.body.items.at(-1)).toMatchObject({ type: 'order.cancelled', actor: { role: 'compliance', id: 'c-force' } });
  });

  it('compliance force-completes a payment_sent order outside a dispute; a party gets 403', async () => {
    const compliance = await api.token('compliance', 'c-force-2');
    const paid = await stageOrder(api, 'sell', 'payment_sent');
    const release = testTxHash(fresh('force-release'));
    expect(
      (
        await step(
          paid.order.id,
          'force-complete',
          paid.tokens.seller,
          { reason: 'mine', releaseTxHash: release },
          { 'idempotency-key': fresh('force-key') },
        )
      ).status,
    ).toBe(403);
    const done = await step(
      paid.order.id,
      'force-complete',
      compliance,
      { reason: 'release confirmed on chain', releaseTxHash: release },
      { 'idempotency-key': fresh('force-key') },
    );
    expect(done.body).toMatchObject({ status: 'completed', releaseTxHash: release, forced: { action: 'force_complete', by: 'c-force-2' } });
    expect(
      (
        await step(
          paid.order.id,
          'force-complete',
          compliance,
          { reason: 'again', releaseTxHash: testTxHash(fresh('r2')) },
          { 'idempotency-key': fresh('force-key') },
        )
      ).status,
    ).toBe(409);
  });
});

describe('the recipient wallet is frozen when the escrow is locked', () => {
  it('a profile change moves the recipient before escrow, never after', async () => {
    const userId = fresh('u-frozen');
    const merchantId = fresh('m-frozen');
    const user = await api.token('user', userId);
    const merchant = await api.token('merchant', merchantId, testAddress(`${merchantId}-first`));
    const created = await api.call<OrderView>('POST', '/v1/orders', { token: user, body: { ...sellBody, merchantId } });
    const accepted = await step(created.body.id, 'accept', merchant, {});
    expect(accepted.body.recipientWallet).toBe(testAddress(`${merchantId}-first`));
    expect(
      (await api.call('PUT', '/v1/account/wallets/tron', { token: merchant, body: { address: testAddress(`${merchantId}-second`) } }))
        .status,
    ).toBe(200);
    expect((await api.call<OrderView>('GET', `/v1/orders/${created.body.id}`, { token: merchant })).body.recipientWallet).toBe(
      testAddress(`${merchantId}-second`),
    );
    const escrowed = await step(created.body.id, 'escrow', user, { txHash: testTxHash(fresh('frozen-escrow')) });
    expect(escrowed.body.escrowRecipientWallet).toBe(testAddress(`${merchantId}-second`));
    await api.call('PUT', '/v1/account/wallets/tron', { token: merchant, body: { address: testAddress(`${merchantId}-third`) } });
    const later = await api.call<OrderView>('GET', `/v1/orders/${created.body.id}`, { token: user });
    expect(later.body.recipientWallet).toBe(testAddress(`${merchantId}-second`));
  });

  it('a bad profile wallet answers 400 and keeps the old one', async () => {
    const merchantId = fresh('m-bad-wallet');
    const merchant = await api.token('merchant', merchantId, testAddress(merchantId));
    const bad = await api.call<{ detail: string }>('PUT', '/v1/account/wallets/ethereum', {
      token: merchant,
      body: { address: testAddress('tron-not-evm') },
    });
    expect(bad.status).toBe(400);
    const account = await api.call<{ wallets: Record<string, string> }>('GET', '/v1/account', { token: merchant });
    expect(account.body.wallets).toEqual({ tron: testAddress(merchantId) });
  });
});

describe('privacy: payment details and wallets only for the parties', () => {
  const iban = 'AE070331234567890123456';
  it('another merchant reads an open book order as its public summary and gets 404 for its events; after the accept, 404 for both', async () => {
    const user = await api.token('user', fresh('u-private'));
    const stranger = await api.token('merchant', fresh('m-stranger'));
    const acceptorId = fresh('m-acceptor');
    const acceptor = await api.token('merchant', acceptorId, testAddress(acceptorId));
    const created = await api.call<OrderView>('POST', '/v1/orders', {
      token: user,
      body: { ...sellBody, paymentDetails: { iban, holder: 'Ana Example' } },
    });
    expect(created.body.paymentDetails).toEqual({ iban, holder: 'Ana Example' });

    const summary = await api.call<BookSummary>('GET', `/v1/orders/${created.body.id}`, { token: stranger });
    expect(summary.status).toBe(200);
    expect(Object.keys(summary.body).sort()).toEqual(
      [
        'createdAt',
        'cryptoAmount',
        'cryptoCurrency',
        'expiresAt',
        'fiatAmount',
        'fiatCurrency',
        'id',
        'network',
        'orderNumber',
        'orderVersion',
        'paymentMethod',
        'rate',
        'status',
        'type',
      ].sort(),
    );
    expect(JSON.stringify(summary.body)).not.toContain(iban);
    expect((await api.call('GET', `/v1/orders/${created.body.id}/events`, { token: stranger })).status).toBe(404);

    expect((await step(created.body.id, 'accept', acceptor, {})).status).toBe(200);
    expect((await api.call('GET', `/v1/orders/${created.body.id}`, { token: stranger })).status).toBe(404);
    expect((await api.call('GET', `/v1/orders/${created.body.id}/events`, { token: stranger })).status).toBe(404);
    expect((await api.call<OrderView>('GET', `/v1/orders/${created.body.id}`, { token: acceptor })).body.paymentDetails).toEqual({
      iban,
      holder: 'Ana Example',
    });
  });

  it("payment details are in no event and no outbox row; the parties' REST events carry none either", async () => {
    const user = await api.token('user', fresh('u-outbox'));
    const created = await api.call<OrderView>('POST', '/v1/orders', { token: user, body: { ...sellBody, paymentDetails: { iban } } });
    const rows = await api.pool.query(
      `SELECT (SELECT payload::text FROM outbox WHERE aggregateid = $1) AS outbox, (SELECT payload::text FROM order_events WHERE order_id = $1::uuid) AS event`,
      [created.body.id],
    );
    expect(rows.rows[0].outbox).not.toContain(iban);
    expect(rows.rows[0].event).not.toContain(iban);
    expect(JSON.parse(rows.rows[0].outbox as string).order).not.toHaveProperty('paymentDetails');
    const events = await api.call('GET', `/v1/orders/${created.body.id}/events`, { token: user });
    expect(JSON.stringify(events.body)).not.toContain(iban);
  });

  it('GET /v1/merchants shows each merchant its own wallets only', async () => {
    const aId = fresh('m-list-a');
    const a = await api.token('merchant', aId, testAddress(aId));
    const bId = fresh('m-list-b');
    await api.token('merchant', bId, testAddress(bId));
    const list = await api.call<{ items: Array<{ id: string; walletAddress: string | null; wallets: unknown }> }>('GET', '/v1/merchants', {
      token: a,
    });
    expect(list.body.items.find((item) => item.id === aId)).toMatchObject({
      walletAddress: testAddress(aId),
      wallets: { tron: testAddress(aId) },
    });
    expect(list.body.items.find((item) => item.id === bId)).toMatchObject({ walletAddress: null, wallets: null });
    expect(JSON.stringify(list.body)).not.toContain(testAddress(bId));
  });
});
