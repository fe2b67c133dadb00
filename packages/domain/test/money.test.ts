import { describe, expect, it } from 'vitest';
import {
  assertAmountsAddUp,
  buildEvent,
  canonicalAddress,
  canonicalTxHash,
  createOrder,
  decide,
  DEFAULT_POLICY,
  diagnose,
  recipientWallet,
  toView,
  type Actor,
  type Command,
  type Order,
} from '../src/index';
import { ACCEPTOR_WALLET, COMPLIANCE, hash, MERCHANT, NOW, noProfileWallets, orderIn, OTHER_WALLET, USER, USER_WALLET } from './fixtures';

const attempt = (order: Order, command: Command, actor: Actor, policy = DEFAULT_POLICY) =>
  decide(order, command, actor, { now: NOW, profileWallet: noProfileWallets, policy });
const EVM_ADDRESS = '0x52908400098527886E0F7030069857D2E4169EE7';

describe('tx hashes and addresses: one canonical form per network', () => {
  it('every spelling of a hash (case, 0x prefix) is the same canonical hash', () => {
    const hex = 'AB'.repeat(32);
    expect(canonicalTxHash('ethereum', hex)).toBe(`0x${'ab'.repeat(32)}`);
    expect(canonicalTxHash('bsc', `0x${hex}`)).toBe(`0x${'ab'.repeat(32)}`);
    expect(canonicalTxHash('tron', `0X${hex}`)).toBe('ab'.repeat(32));
    expect(canonicalTxHash('tron', 'ab'.repeat(32))).toBe('ab'.repeat(32));
  });
  it('a hash that is not 64 hex digits is refused, saying which form is expected', () => {
    expect(() => canonicalTxHash('ethereum', '0xabc')).toThrow(
      'txHash is not a ethereum transaction hash: expected 0x followed by 64 hex digits',
    );
    expect(() => canonicalTxHash('tron', 'zz'.repeat(32))).toThrow(/expected 64 hex digits/);
  });
  it('EVM addresses are stored EIP-55; a mixed-case address with a bad checksum is refused', () => {
    expect(canonicalAddress('polygon', EVM_ADDRESS.toLowerCase())).toBe(EVM_ADDRESS);
    expect(canonicalAddress('ethereum', EVM_ADDRESS)).toBe(EVM_ADDRESS);
    expect(() => canonicalAddress('ethereum', '0x52908400098527886e0F7030069857D2E4169EE7')).toThrow(/EIP-55/);
    expect(() => canonicalAddress('ethereum', ACCEPTOR_WALLET)).toThrow(/not a ethereum address/);
  });
  it('Tron addresses must be base58check T… addresses with a valid checksum', () => {
    expect(canonicalAddress('tron', ACCEPTOR_WALLET)).toBe(ACCEPTOR_WALLET);
    const broken = `${ACCEPTOR_WALLET.slice(0, -1)}${ACCEPTOR_WALLET.endsWith('h') ? 'j' : 'h'}`;
    expect(() => canonicalAddress('tron', broken)).toThrow(/base58check Tron address/);
    expect(() => canonicalAddress('tron', EVM_ADDRESS)).toThrow(/not a tron address/);
  });
  it('a lock repeated in another spelling of the same hash is unchanged', () => {
    const escrowed = orderIn('buy', 'escrowed');
    expect(attempt(escrowed, { action: 'lock_escrow', txHash: `0x${hash('escrow-buy').toUpperCase()}` }, MERCHANT).kind).toBe('unchanged');
  });
  it('a release or refund hash equal to the escrow hash (in any spelling) is a conflict', () => {
    const paid = orderIn('sell', 'payment_sent');
    expect(() => attempt(paid, { action: 'confirm_and_release', txHash: paid.escrowTxHash?.toUpperCase() ?? '' }, USER)).toThrow(
      /is the escrow's own transaction/,
    );
    const escrowed = orderIn('buy', 'escrowed');
    expect(() => attempt(escrowed, { action: 'cancel', refundTxHash: `0x${escrowed.escrowTxHash ?? ''}` }, USER)).toThrow(
      /is the escrow's own transaction/,
    );
  });
});

describe('amounts add up', () => {
  const input = { cryptoAmount: '100', rate: '3.6725', fiatAmount: '367.25', fiatCurrency: 'AED' };
  it('fiat = crypto × rate within one minor unit passes', () => {
    expect(() => assertAmountsAddUp(input)).not.toThrow();
    expect(() => assertAmountsAddUp({ ...input, fiatAmount: '367.26' })).not.toThrow();
    expect(() => assertAmountsAddUp({ cryptoAmount: '1000', rate: '83.2', fiatAmount: '83200', fiatCurrency: 'JPY' })).not.toThrow();
  });
  it('a mismatch is refused with the expected amount', () => {
    expect(() => assertAmountsAddUp({ ...input, fiatAmount: '1' })).toThrow(
      'fiatAmount 1 does not match cryptoAmount × rate = 100 × 3.6725 = 367.25: expected 367.25 AED (± one minor unit)',
    );
    expect(() => assertAmountsAddUp({ ...input, fiatAmount: '367.27' })).toThrow(/expected 367.25/);
  });
  it('more decimals than the currency has, or a code that is not ISO 4217 fiat, is refused', () => {
    expect(() => assertAmountsAddUp({ ...input, fiatAmount: '367.250' })).toThrow('fiatAmount 367.250 has more decimals than AED has (2)');
    expect(() => assertAmountsAddUp({ cryptoAmount: '10', rate: '0.3766', fiatAmount: '3.766', fiatCurrency: 'KWD' })).not.toThrow();
    expect(() => assertAmountsAddUp({ ...input, fiatCurrency: 'USDT' })).toThrow(/not an ISO 4217 currency/);
  });
  it('exact decimals: no float rounding error at 18 fractional digits', () => {
    expect(() =>
      assertAmountsAddUp({ cryptoAmount: '0.100000000000000001', rate: '3', fiatAmount: '0.30', fiatCurrency: 'USD' }),
    ).not.toThrow();
  });
});

describe('the fee comes from the policy, never from the request', () => {
  const policy = { ...DEFAULT_POLICY, feeBps: (merchantId: string | null) => (merchantId === 'm-1' ? 25 : 10) };
  const body = {
    type: 'sell' as const,
    cryptoAmount: '100',
    cryptoCurrency: 'USDT',
    fiatAmount: '367.25',
    fiatCurrency: 'AED',
    rate: '3.6725',
    paymentMethod: 'upi' as const,
  };
  const create = (extra: object) =>
    createOrder({ ...body, ...extra }, USER, {
      id: 'o',
      orderNumber: 'BM-261125-ABCDEFGH',
      now: NOW,
      profileWallet: noProfileWallets,
      policy,
    });
  it("an addressed order takes its merchant's fee; a feeBps in the input is ignored", () => {
    expect(create({ merchantId: 'm-1', feeBps: 0 }).feeBps).toBe(25);
  });
  it("a book order takes the platform fee, then the accepting merchant's", () => {
    const book = create({});
    expect(book.feeBps).toBe(10);
    expect(attempt(book, { action: 'accept', walletAddress: ACCEPTOR_WALLET }, MERCHANT, policy).order.feeBps).toBe(25);
  });
  it('an untraded crypto currency is refused', () => {
    expect(() => create({ cryptoCurrency: 'DOGE' })).toThrow('cryptoCurrency DOGE is not traded here; use one of USDT, USDC');
  });
});

describe('refunds and compliance force actions', () => {
  it('a buyer cancelling an escrowed order must record the refund hash', () => {
    const escrowed = orderIn('buy', 'escrowed');
    expect(() => attempt(escrowed, { action: 'cancel' }, USER)).toThrow(/refundTxHash is required/);
    expect(attempt(escrowed, { action: 'cancel', refundTxHash: hash('refund') }, USER).order).toMatchObject({
      status: 'cancelled',
      refundTxHash: hash('refund'),
    });
  });
  it('a refund hash on an order with nothing locked is refused', () => {
    expect(() => attempt(orderIn('sell', 'accepted'), { action: 'cancel', refundTxHash: hash('refund') }, USER)).toThrow(
      /nothing is locked/,
    );
  });
  it('compliance force-cancels an open order without a hash and an escrowed one with it, audited', () => {
    const open = attempt(orderIn('sell', 'open'), { action: 'force_cancel', reason: 'sanctions hit' }, COMPLIANCE);
    expect(open.order).toMatchObject({
      status: 'cancelled',
      refundTxHash: null,
      forced: { action: 'force_cancel', reason: 'sanctions hit', by: 'c-1', at: NOW },
    });
    expect(open.kind === 'transition' && open.audit).toEqual({ reason: 'sanctions hit' });
    const paid = orderIn('sell', 'payment_sent');
    expect(() => attempt(paid, { action: 'force_cancel', reason: 'fraud' }, COMPLIANCE)).toThrow(/refundTxHash is required/);
    expect(attempt(paid, { action: 'force_cancel', reason: 'fraud', refundTxHash: hash('r') }, COMPLIANCE).order).toMatchObject({
      status: 'cancelled',
      refundTxHash: hash('r'),
    });
  });
  it('compliance force-completes outside a dispute with a release hash; a party may not', () => {
    const paid = orderIn('buy', 'payment_sent');
    const done = attempt(paid, { action: 'force_complete', reason: 'release confirmed on chain', releaseTxHash: hash('rel') }, COMPLIANCE);
    expect(done.order).toMatchObject({ status: 'completed', releaseTxHash: hash('rel'), forced: { action: 'force_complete', by: 'c-1' } });
    expect(done.kind === 'transition' && done.eventType).toBe('order.completed');
    expect(() => attempt(paid, { action: 'force_complete', reason: 'x', releaseTxHash: hash('rel') }, MERCHANT)).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
  });
  it('a force action on a disputed order records the resolution', () => {
    const disputed = orderIn('sell', 'disputed');
    expect(
      attempt(disputed, { action: 'force_complete', reason: 'evidence', releaseTxHash: hash('x') }, COMPLIANCE).order.dispute,
    ).toMatchObject({ resolution: 'release', note: 'evidence', resolvedBy: 'c-1' });
  });
});

describe('the recipient wallet is frozen when the escrow is locked', () => {
  it('a later profile change does not move it', () => {
    const profile = { current: OTHER_WALLET };
    const wallets = (party: { kind: string }) => (party.kind === 'merchant' ? profile.current : null);
    const accepted = decide(orderIn('sell', 'open'), { action: 'accept' }, MERCHANT, { now: NOW, profileWallet: wallets }).order;
    expect(recipientWallet(accepted, wallets)).toBe(OTHER_WALLET);
    const escrowed = decide(accepted, { action: 'lock_escrow', txHash: hash('lock') }, USER, { now: NOW, profileWallet: wallets }).order;
    expect(escrowed.escrowRecipientWallet).toBe(OTHER_WALLET);
    profile.current = USER_WALLET;
    expect(recipientWallet(escrowed, wallets)).toBe(OTHER_WALLET);
  });
  it('locking an escrow with no wallet to release to is refused', () => {
    const accepted = { ...orderIn('sell', 'accepted'), acceptorWalletAddress: null };
    expect(() => attempt(accepted, { action: 'lock_escrow', txHash: hash('lock') }, USER)).toThrow(/no tron wallet to release to/);
  });
});

describe('deadlines', () => {
  it("a dispute carries its compliance SLA as the order's deadline", () => {
    const escrowed = orderIn('sell', 'escrowed');
    const disputed = attempt(escrowed, { action: 'dispute', reason: 'no fiat' }, MERCHANT).order;
    expect(disputed.timerAt).toBe('2026-11-26T10:00:00.000Z');
  });
  it('configured payment windows per method set the deadline, also in seconds', () => {
    const policy = {
      ...DEFAULT_POLICY,
      timers: { ...DEFAULT_POLICY.timers, paymentWindowMinutes: { cash: 60, upi: 60, bank_transfer: 2 / 60 } },
    };
    const accepted = orderIn('sell', 'accepted');
    expect(attempt(accepted, { action: 'lock_escrow', txHash: hash('lock') }, USER, policy).order.paymentDeadline).toBe(
      '2026-11-25T10:00:02.000Z',
    );
  });
});

describe('events carry no payment details', () => {
  it('the event snapshot drops paymentDetails; the view keeps it for the parties', () => {
    const order = { ...orderIn('sell', 'open'), paymentDetails: { iban: 'AE070331234567890123456' } };
    const view = toView(order, noProfileWallets);
    expect(view.paymentDetails).toEqual({ iban: 'AE070331234567890123456' });
    const event = buildEvent({ eventId: 'e', type: 'order.created', order: view, previousStatus: null, actor: USER, occurredAt: NOW });
    expect(JSON.stringify(event)).not.toContain('AE070331234567890123456');
    expect(event.order).not.toHaveProperty('paymentDetails');
  });
});

describe('stuck orders: state and evidence disagree', () => {
  it('a release hash on a payment_sent order is repaired to completed by the system; without the hash, 409', () => {
    const paid = { ...orderIn('sell', 'payment_sent'), releaseTxHash: hash('imported-release') };
    const found = diagnose(paid, NOW);
    expect(found).toMatchObject({ kind: 'release_recorded', command: { action: 'repair_complete' } });
    const repaired = decide(
      paid,
      found?.command ?? { action: 'repair_complete' },
      { role: 'system', id: 'system' },
      { now: NOW, profileWallet: noProfileWallets },
    );
    expect(repaired.order).toMatchObject({ status: 'completed', releaseTxHash: hash('imported-release'), completedAt: NOW });
    expect(repaired.kind === 'transition' && repaired.eventType).toBe('order.completed');
    expect(() =>
      decide(
        orderIn('sell', 'payment_sent'),
        { action: 'repair_complete' },
        { role: 'system', id: 'system' },
        { now: NOW, profileWallet: noProfileWallets },
      ),
    ).toThrow(/no release transaction is recorded/);
    expect(() => decide(paid, { action: 'repair_complete' }, COMPLIANCE, { now: NOW, profileWallet: noProfileWallets })).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
  });
  it('a refund hash on an escrowed order is repaired to cancelled; a long-past deadline fires its timer action', () => {
    expect(diagnose({ ...orderIn('buy', 'escrowed'), refundTxHash: hash('imported-refund') }, NOW)).toMatchObject({
      kind: 'refund_recorded',
      command: { action: 'repair_refund' },
    });
    const open = orderIn('sell', 'open');
    expect(diagnose(open, NOW)).toBeNull();
    expect(diagnose(open, '2026-11-25T10:21:00.000Z')).toMatchObject({ kind: 'timer_overdue', command: { action: 'expire' } });
    expect(diagnose(open, '2026-11-25T10:17:00.000Z')).toBeNull();
    expect(diagnose(orderIn('sell', 'completed'), '2027-01-01T00:00:00.000Z')).toBeNull();
  });
});
