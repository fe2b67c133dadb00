import { describe, expect, it } from 'vitest';
import {
  audienceOf,
  buildEvent,
  createOrder,
  decide,
  disputeOverdue,
  minimalStatus,
  orderNumber,
  recipientWallet,
  SettleError,
  sides,
  toBookSummary,
  toView,
  type Actor,
  type Command,
  type Order,
  type Party,
} from '../src/index';
import {
  ACCEPTOR_WALLET,
  COMPLIANCE,
  hash,
  MERCHANT,
  MERCHANT_2,
  newOrder,
  NOW,
  noProfileWallets,
  orderIn,
  OTHER_WALLET,
  run,
  STRANGER_MERCHANT,
  SYSTEM,
  USER,
  USER_WALLET,
} from './fixtures';

const attempt = (order: Order, command: Command, actor: Actor, now = NOW): ReturnType<typeof decide> =>
  decide(order, command, actor, { now, profileWallet: noProfileWallets });

const profiles =
  (wallets: Record<string, string>) =>
  (party: Party): string | null =>
    wallets[`${party.kind}:${party.id}`] ?? null;

describe('sides of a trade', () => {
  it('BUY: the merchant sells, the user buys', () => {
    expect(sides(orderIn('buy', 'accepted'))).toEqual({ seller: { kind: 'merchant', id: 'm-1' }, buyer: { kind: 'user', id: 'u-1' } });
  });
  it('SELL: the user sells, the merchant buys', () => {
    expect(sides(orderIn('sell', 'accepted'))).toEqual({ seller: { kind: 'user', id: 'u-1' }, buyer: { kind: 'merchant', id: 'm-1' } });
  });
  it('M2M: merchantId sells, buyerMerchantId buys', () => {
    expect(sides(orderIn('m2m', 'accepted'))).toEqual({ seller: { kind: 'merchant', id: 'm-1' }, buyer: { kind: 'merchant', id: 'm-2' } });
  });
  it('a book order stores the side that is known and fills the other at accept', () => {
    const open = newOrder('buy', { book: true });
    expect(open.seller).toBeNull();
    expect(open.buyer).toEqual({ kind: 'user', id: 'u-1' });
    const accepted = run(open, [[{ action: 'accept' }, STRANGER_MERCHANT]]);
    expect(accepted.seller).toEqual({ kind: 'merchant', id: 'm-9' });
    expect(accepted.merchantId).toBe('m-9');
  });
});

describe("recipient wallet: always the buyer's, never the acceptor's by accident", () => {
  const wallets = profiles({ 'user:u-1': 'user-profile', 'merchant:m-1': 'm1-profile', 'merchant:m-2': 'm2-profile' });

  it("BUY goes to the wallet the user gave at creation, not the accepting merchant's", () => {
    const order = run(newOrder('buy'), [[{ action: 'accept', walletAddress: OTHER_WALLET }, MERCHANT]]);
    expect(recipientWallet(order, wallets)).toBe(USER_WALLET);
  });
  it("BUY falls back to the user's profile wallet", () => {
    const order = { ...orderIn('buy', 'accepted'), buyerWalletAddress: null };
    expect(recipientWallet(order, wallets)).toBe('user-profile');
  });
  it("SELL goes to the merchant's acceptor wallet, else its profile wallet", () => {
    const order = orderIn('sell', 'accepted');
    expect(recipientWallet(order, wallets)).toBe(ACCEPTOR_WALLET);
    expect(recipientWallet({ ...order, acceptorWalletAddress: null }, wallets)).toBe('m1-profile');
  });
  it("M2M goes to the buying merchant's wallet, else its profile wallet, never the seller's", () => {
    const order = orderIn('m2m', 'accepted');
    expect(recipientWallet(order, wallets)).toBe(ACCEPTOR_WALLET);
    expect(recipientWallet({ ...order, acceptorWalletAddress: null }, wallets)).toBe('m2-profile');
  });
  it('is null while nobody on the buying side is known', () => {
    expect(recipientWallet(newOrder('sell', { book: true }), wallets)).toBeNull();
  });
});

describe('creating orders', () => {
  const input = {
    cryptoAmount: '10',
    cryptoCurrency: 'USDT',
    fiatAmount: '36.73',
    fiatCurrency: 'AED',
    rate: '3.673',
    paymentMethod: 'upi' as const,
  };
  const context = { id: 'o-1', orderNumber: 'BM-261125-AAAAAAAA', now: NOW, profileWallet: noProfileWallets };

  it('starts open at version 1 and expires 15 minutes after creation', () => {
    const order = createOrder({ ...input, type: 'sell', merchantId: 'm-1' }, USER, context);
    expect(order).toMatchObject({
      status: 'open',
      orderVersion: 1,
      bookOrder: false,
      expiresAt: '2026-11-25T10:15:00.000Z',
      timerAt: '2026-11-25T10:15:00.000Z',
    });
  });
  it("a BUY needs a wallet: given, or the user's profile wallet", () => {
    expect(() => createOrder({ ...input, type: 'buy', merchantId: 'm-1' }, USER, context)).toThrow(/buyerWalletAddress is required/);
    const withProfile = createOrder({ ...input, type: 'buy', merchantId: 'm-1' }, USER, {
      ...context,
      profileWallet: profiles({ 'user:u-1': 'w' }),
    });
    expect(withProfile.buyerWalletAddress).toBeNull();
  });
  it('users create BUY/SELL, merchants create M2M', () => {
    expect(() => createOrder({ ...input, type: 'm2m' }, USER, context)).toThrow(/m2m orders are created by a merchant/);
    expect(() => createOrder({ ...input, type: 'sell' }, MERCHANT, context)).toThrow(/sell orders are created by a user/);
    expect(() => createOrder({ ...input, type: 'sell' }, COMPLIANCE, context)).toThrow(SettleError);
  });
  it('an M2M order cannot be addressed to its own creator', () => {
    expect(() => createOrder({ ...input, type: 'm2m', merchantId: 'm-1' }, MERCHANT, context)).toThrow(/names yourself/);
  });
  it('an order without merchantId goes to the book', () => {
    expect(createOrder({ ...input, type: 'sell' }, USER, context)).toMatchObject({ bookOrder: true, merchantId: null });
  });
  it('order numbers look like BM-YYMMDD-XXXXXXXX', () => {
    expect(orderNumber(NOW, new Uint8Array([0, 1, 2, 3, 4, 5, 6, 255]))).toMatch(/^BM-261125-[A-Z2-9]{8}$/);
  });
});

describe('the order book', () => {
  it('any merchant may accept a book order; an addressed order is invisible to other merchants', () => {
    const book = newOrder('sell', { book: true });
    expect(attempt(book, { action: 'accept', walletAddress: ACCEPTOR_WALLET }, MERCHANT_2).kind).toBe('transition');
    const addressed = newOrder('sell');
    expect(() => attempt(addressed, { action: 'accept', walletAddress: ACCEPTOR_WALLET }, MERCHANT_2)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });
  it('after the first accept the order leaves the book: the next merchant gets 409, and cannot read it', () => {
    const accepted = run(newOrder('sell', { book: true }), [[{ action: 'accept', walletAddress: ACCEPTOR_WALLET }, MERCHANT]]);
    expect(() => attempt(accepted, { action: 'accept', walletAddress: ACCEPTOR_WALLET }, MERCHANT_2)).toThrow(
      'this book order was already taken by another merchant',
    );
    expect(() => attempt(accepted, { action: 'cancel' }, MERCHANT_2)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
  it('a merchant may not accept its own M2M book order', () => {
    expect(() => attempt(newOrder('m2m', { book: true }), { action: 'accept', walletAddress: ACCEPTOR_WALLET }, MERCHANT)).toThrow(
      'merchants may not accept their own M2M orders',
    );
  });
  it("accepting a SELL needs the acceptor's wallet when it has no profile wallet", () => {
    expect(() => attempt(newOrder('sell'), { action: 'accept' }, MERCHANT)).toThrow(/walletAddress is required to accept a sell order/);
    const ok = decide(newOrder('sell'), { action: 'accept' }, MERCHANT, { now: NOW, profileWallet: profiles({ 'merchant:m-1': 'p' }) });
    expect(ok.kind).toBe('transition');
  });
});

describe('escrow and release', () => {
  it('locking with the same hash again is unchanged; another hash conflicts', () => {
    const escrowed = orderIn('buy', 'escrowed');
    expect(attempt(escrowed, { action: 'lock_escrow', txHash: hash('escrow-buy') }, MERCHANT)).toEqual({
      kind: 'unchanged',
      order: escrowed,
    });
    expect(() => attempt(escrowed, { action: 'lock_escrow', txHash: hash('different') }, MERCHANT)).toThrow(
      new RegExp(`already locked with transaction ${hash('escrow-buy')}`),
    );
  });
  it('escrow sets the payment deadline per method: bank transfer 4 h, UPI/cash 60 min', () => {
    const bank = orderIn('sell', 'escrowed');
    expect(bank.paymentDeadline).toBe('2026-11-25T14:00:00.000Z');
    const upi = run({ ...newOrder('sell'), paymentMethod: 'upi' }, [
      [{ action: 'accept', walletAddress: ACCEPTOR_WALLET }, MERCHANT],
      [{ action: 'lock_escrow', txHash: hash('1') }, USER],
    ]);
    expect(upi.paymentDeadline).toBe('2026-11-25T11:00:00.000Z');
    expect(upi.escrowFunder).toEqual({ kind: 'user', id: 'u-1' });
  });
  it('mark paid after the payment deadline is a conflict', () => {
    const escrowed = orderIn('sell', 'escrowed');
    expect(() => attempt(escrowed, { action: 'mark_paid' }, MERCHANT, '2026-11-25T14:00:01.000Z')).toThrow(/payment deadline passed/);
  });
  it('release sets completed, release hash, confirmed and completed times, version + 1', () => {
    const paid = orderIn('sell', 'payment_sent');
    const decision = attempt(paid, { action: 'confirm_and_release', txHash: hash('rel') }, USER);
    expect(decision.kind).toBe('transition');
    expect(decision.order).toMatchObject({
      status: 'completed',
      releaseTxHash: hash('rel'),
      paymentConfirmedAt: NOW,
      completedAt: NOW,
      orderVersion: paid.orderVersion + 1,
      timerAt: null,
    });
  });
  it('only the escrow funder may release', () => {
    const paid = { ...orderIn('sell', 'payment_sent'), escrowFunder: { kind: 'user' as const, id: 'u-someone-else' } };
    expect(() => attempt(paid, { action: 'confirm_and_release', txHash: hash('empty') }, USER)).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
  });
});

describe('mutual cancel and extensions', () => {
  it('a cancel request from one party and one from the other cancels the order', () => {
    const requested = run(orderIn('buy', 'payment_sent'), [[{ action: 'request_cancel', reason: 'wrong amount' }, USER]]);
    expect(requested).toMatchObject({ status: 'payment_sent', cancelRequestedBy: { kind: 'user', id: 'u-1' } });
    expect(() => attempt(requested, { action: 'request_cancel' }, USER)).toThrow(/already requested/);
    expect(() => attempt(requested, { action: 'request_cancel' }, MERCHANT)).toThrow(/refundTxHash is required/);
    const decision = attempt(requested, { action: 'request_cancel', refundTxHash: hash('refund') }, MERCHANT);
    expect(decision.kind === 'transition' && decision.eventType).toBe('order.cancelled');
    expect(decision.order.refundTxHash).toBe(hash('refund'));
    expect(decision.order.status).toBe('cancelled');
  });
  it("after a buyer's request, the seller's plain cancel is the agreement", () => {
    const requested = run(orderIn('buy', 'escrowed'), [[{ action: 'request_cancel' }, USER]]);
    expect(attempt(requested, { action: 'cancel', refundTxHash: hash('refund') }, MERCHANT).order).toMatchObject({
      status: 'cancelled',
      refundTxHash: hash('refund'),
    });
  });
  it('an extension adds one payment window; at most 3', () => {
    let order = orderIn('sell', 'escrowed');
    for (let granted = 1; granted <= 3; granted += 1) {
      order = run(order, [
        [{ action: 'request_extension' }, MERCHANT],
        [{ action: 'agree_extension' }, USER],
      ]);
      expect(order.extensionCount).toBe(granted);
    }
    expect(order.paymentDeadline).toBe('2026-11-26T02:00:00.000Z'); // 14:00 + 3 × 4 h
    expect(() => attempt(order, { action: 'request_extension' }, MERCHANT)).toThrow(/extended 3 times/);
  });
  it('a party cannot agree to its own extension request', () => {
    const requested = run(orderIn('sell', 'escrowed'), [[{ action: 'request_extension' }, MERCHANT]]);
    expect(() => attempt(requested, { action: 'agree_extension' }, MERCHANT)).toThrow(/no extension request from the other party/);
  });
});

describe('timers', () => {
  it('a timer that is not yet due loses cleanly', () => {
    expect(() => attempt(newOrder('sell'), { action: 'expire' }, SYSTEM)).toThrow(/has not passed/);
  });
  it('escalation opens a dispute by the system, never a refund or release', () => {
    const escrowed = orderIn('sell', 'escrowed');
    const decision = attempt(escrowed, { action: 'escalate' }, SYSTEM, '2026-11-25T14:00:00.000Z');
    expect(decision.order).toMatchObject({ status: 'disputed', releaseTxHash: null, refundTxHash: null, dispute: { openedBy: 'system' } });
  });
  it('a dispute past its 24 h SLA is overdue (alert only)', () => {
    const disputed = orderIn('sell', 'disputed');
    expect(disputeOverdue(disputed, '2026-11-26T09:59:00.000Z')).toBe(false);
    expect(disputeOverdue(disputed, '2026-11-26T10:00:00.000Z')).toBe(true);
  });
});

describe('dispute resolution', () => {
  it('release completes with the release hash; refund cancels with the refund hash', () => {
    const disputed = orderIn('buy', 'disputed');
    const released = attempt(disputed, { action: 'resolve_dispute', outcome: 'release', txHash: hash('r'), note: 'ok' }, COMPLIANCE);
    expect(released.order).toMatchObject({
      status: 'completed',
      releaseTxHash: hash('r'),
      dispute: { resolution: 'release', note: 'ok', resolvedBy: 'c-1' },
    });
    const refunded = attempt(disputed, { action: 'resolve_dispute', outcome: 'refund', txHash: hash('f'), note: 'no' }, COMPLIANCE);
    expect(refunded.order).toMatchObject({ status: 'cancelled', refundTxHash: hash('f') });
  });
});

describe('events and who is told', () => {
  const view = (order: Order) => toView(order, noProfileWallets);
  const event = (order: Order, type: Parameters<typeof buildEvent>[0]['type'], previousStatus: Order['status'] | null) =>
    buildEvent({ eventId: 'e-1', type, order: view(order), previousStatus, actor: USER, occurredAt: NOW });

  it('an event carries version, statuses, actor and the snapshot', () => {
    const accepted = orderIn('sell', 'accepted');
    expect(event(accepted, 'order.accepted', 'open')).toMatchObject({
      eventId: 'e-1',
      orderId: accepted.id,
      orderNumber: accepted.orderNumber,
      orderVersion: 2,
      status: 'accepted',
      minimalStatus: 'accepted',
      previousStatus: 'open',
      order: { id: accepted.id, recipientWallet: ACCEPTOR_WALLET },
    });
  });
  it('an addressed new order goes privately to that merchant and the creator, not the book', () => {
    expect(audienceOf(event(newOrder('sell'), 'order.created', null))).toEqual({
      book: false,
      recipients: [
        { kind: 'user', id: 'u-1' },
        { kind: 'merchant', id: 'm-1' },
      ],
    });
  });
  it('a new book order goes to the book and its creator only', () => {
    expect(audienceOf(event(newOrder('sell', { book: true }), 'order.created', null))).toEqual({
      book: true,
      recipients: [{ kind: 'user', id: 'u-1' }],
    });
  });
  it('a book order leaving the book (accepted) goes to the book and both parties', () => {
    const accepted = run(newOrder('sell', { book: true }), [[{ action: 'accept', walletAddress: ACCEPTOR_WALLET }, MERCHANT_2]]);
    expect(audienceOf(event(accepted, 'order.accepted', 'open'))).toEqual({
      book: true,
      recipients: [
        { kind: 'user', id: 'u-1' },
        { kind: 'merchant', id: 'm-2' },
      ],
    });
  });
  it('later events go to the parties only; disputes also to compliance', () => {
    const escrowed = orderIn('sell', 'escrowed');
    expect(audienceOf(event(escrowed, 'order.escrow_locked', 'accepted')).book).toBe(false);
    expect(audienceOf(event(orderIn('sell', 'disputed'), 'order.disputed', 'escrowed')).recipients).toContainEqual({
      kind: 'compliance',
      id: 'compliance',
    });
  });
  it('the book summary reveals no party, wallet or payment details', () => {
    const summary = toBookSummary(newOrder('buy', { book: true }));
    expect(Object.keys(summary)).not.toEqual(expect.arrayContaining(['userId']));
    expect(JSON.stringify(summary)).not.toContain('u-1');
    expect(JSON.stringify(summary)).not.toContain('wallet');
  });
  it('legacy statuses map to the 8 statuses', () => {
    expect(
      ['pending', 'escrow_pending', 'payment_pending', 'payment_confirmed', 'releasing', 'disputed', 'bogus'].map(minimalStatus),
    ).toEqual(['open', 'accepted', 'escrowed', 'payment_sent', 'completed', 'disputed', undefined]);
  });
});
