import { createHash } from 'node:crypto';
import { createOrder, decide, type Actor, type Command, type Order, type OrderType, type Party } from '../src/index';

export const NOW = '2026-11-25T10:00:00.000Z';

/** A valid Tron tx hash (64 lower-case hex) derived from `label`. */
export const hash = (label: string): string => createHash('sha256').update(label).digest('hex');
/** Valid base58check Tron addresses. */
export const ACCEPTOR_WALLET = 'TZ6MfCgHzAMqQ5VDfCm64benQ2FWCTfxYh';
export const USER_WALLET = 'TPbkUHGbW3EvwBz1RJMGtNsD2SC9uTb9jf';
export const FUNDER_WALLET = 'TMGhpQ3eDgMfRuj4pFoBowt5zpGsXARBWz';
export const OTHER_WALLET = 'TZ23QjntnmfgL45EYWgCEpqucP7S22bqnK';
export const noProfileWallets = (): null => null;

export const USER: Actor = { role: 'user', id: 'u-1' };
export const MERCHANT: Actor = { role: 'merchant', id: 'm-1' };
export const MERCHANT_2: Actor = { role: 'merchant', id: 'm-2' };
export const STRANGER_USER: Actor = { role: 'user', id: 'u-9' };
export const STRANGER_MERCHANT: Actor = { role: 'merchant', id: 'm-9' };
export const COMPLIANCE: Actor = { role: 'compliance', id: 'c-1' };
export const SYSTEM: Actor = { role: 'system', id: 'system' };

export function asParty(actor: Actor): Party {
  if (actor.role !== 'user' && actor.role !== 'merchant') throw new Error('not a party');
  return { kind: actor.role, id: actor.id };
}

/** The creator and counterparty of each order type in these tests. */
export const CAST: Record<OrderType, { creator: Actor; counterparty: Actor }> = {
  buy: { creator: USER, counterparty: MERCHANT },
  sell: { creator: USER, counterparty: MERCHANT },
  m2m: { creator: MERCHANT, counterparty: MERCHANT_2 },
};

export function newOrder(type: OrderType, options: { book?: boolean } = {}): Order {
  const { creator, counterparty } = CAST[type];
  return createOrder(
    {
      type,
      ...(options.book === true ? {} : { merchantId: counterparty.id }),
      cryptoAmount: '100.000000',
      cryptoCurrency: 'USDT',
      fiatAmount: '367.25',
      fiatCurrency: 'AED',
      rate: '3.6725',
      paymentMethod: 'bank_transfer',
      buyerWalletAddress: type === 'buy' ? USER_WALLET : undefined,
    },
    creator,
    { id: `order-${type}`, orderNumber: 'BM-261125-ABCDEFGH', now: NOW, profileWallet: noProfileWallets },
  );
}

/** Applies commands in turn (each must be a transition) and returns the resulting order. */
export function run(order: Order, steps: Array<[Command, Actor]>, now = NOW): Order {
  let current = order;
  for (const [command, actor] of steps) {
    const decision = decide(current, command, actor, { now, profileWallet: noProfileWallets });
    if (decision.kind !== 'transition') throw new Error(`${command.action} did not transition`);
    current = decision.order;
  }
  return current;
}

/** An order of `type` brought to `status` through the normal path. */
export function orderIn(type: OrderType, status: Order['status']): Order {
  const { creator, counterparty } = CAST[type];
  const seller = type === 'buy' ? counterparty : creator;
  const buyer = type === 'buy' ? creator : counterparty;
  const open = newOrder(type);
  const accept: [Command, Actor] = [{ action: 'accept', walletAddress: ACCEPTOR_WALLET }, counterparty];
  const lock: [Command, Actor] = [{ action: 'lock_escrow', txHash: hash(`escrow-${type}`) }, seller];
  const paid: [Command, Actor] = [{ action: 'mark_paid' }, buyer];
  switch (status) {
    case 'open':
      return open;
    case 'accepted':
      return run(open, [accept]);
    case 'escrowed':
      return run(open, [accept, lock]);
    case 'payment_sent':
      return run(open, [accept, lock, paid]);
    case 'completed':
      return run(open, [accept, lock, paid, [{ action: 'confirm_and_release', txHash: hash(`release-${type}`) }, seller]]);
    case 'cancelled':
      return run(open, [[{ action: 'cancel' }, creator]]);
    case 'expired':
      return run(open, [[{ action: 'expire' }, SYSTEM]], '2026-11-25T11:00:00.000Z');
    case 'disputed':
      return run(open, [accept, lock, [{ action: 'dispute', reason: 'no payment seen' }, seller]]);
  }
}
