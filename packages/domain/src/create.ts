import { assertAmountsAddUp } from './amounts';
import type { Network, OrderType, PaymentMethod } from '@settle/wire';
import { canonicalAddress } from './chains';
import { SettleError } from './errors';
import { DEFAULT_POLICY, type OrderPolicy } from './policy';
import { sides } from './sides';
import { addMinutes } from './timers';
import type { Actor, Order } from './types';
import type { ProfileWallets } from './wallet';

export interface CreateOrderInput {
  type: OrderType;
  /** The merchant the order is addressed to; without it the order goes to the order book. */
  merchantId?: string | undefined;
  /** The escrow's chain; the policy's default when omitted. */
  network?: Network | undefined;
  cryptoAmount: string;
  cryptoCurrency: string;
  fiatAmount: string;
  fiatCurrency: string;
  rate: string;
  paymentMethod: PaymentMethod;
  paymentDetails?: Record<string, unknown> | undefined;
  buyerWalletAddress?: string | undefined;
}

export interface CreateContext {
  id: string;
  orderNumber: string;
  now: string;
  /** Profile wallets on the order's network. */
  profileWallet: ProfileWallets;
  policy?: OrderPolicy;
}

/** The network an order of `input` lives on. */
export const networkOf = (input: Pick<CreateOrderInput, 'network'>, policy: OrderPolicy = DEFAULT_POLICY): Network =>
  input.network ?? policy.defaultNetwork;

/** Who creates which type: users trade BUY/SELL with merchants; merchants create M2M. */
export const CREATOR_ROLE: Record<OrderType, 'user' | 'merchant'> = { buy: 'user', sell: 'user', m2m: 'merchant' };

/** Builds a new open order (version 1) from validated input; the creator comes from the token. */
export function createOrder(input: CreateOrderInput, actor: Actor, context: CreateContext): Order {
  const creatorRole = CREATOR_ROLE[input.type];
  if (actor.role !== creatorRole) {
    throw new SettleError('FORBIDDEN', `${input.type} orders are created by a ${creatorRole}, not a ${actor.role}`);
  }
  if (input.type === 'm2m' && input.merchantId === actor.id) {
    throw new SettleError(
      'INVALID_INPUT',
      'merchantId names yourself: an M2M order is addressed to another merchant (or to the book, without merchantId)',
    );
  }
  const policy = context.policy ?? DEFAULT_POLICY;
  const timers = policy.timers;
  const network = networkOf(input, policy);
  if (!policy.cryptoCurrencies.includes(input.cryptoCurrency)) {
    throw new SettleError(
      'INVALID_INPUT',
      `cryptoCurrency ${input.cryptoCurrency} is not traded here; use one of ${policy.cryptoCurrencies.join(', ')}`,
    );
  }
  assertAmountsAddUp(input);
  const buyerWalletAddress =
    input.type === 'buy' && input.buyerWalletAddress !== undefined
      ? canonicalAddress(network, input.buyerWalletAddress, 'buyerWalletAddress')
      : null;
  const now = context.now;
  const addressed = input.merchantId ?? null;
  const base = {
    type: input.type,
    userId: input.type === 'm2m' ? null : actor.id,
    merchantId: input.type === 'm2m' ? actor.id : addressed,
    buyerMerchantId: input.type === 'm2m' ? addressed : null,
  };
  if (input.type === 'buy' && input.buyerWalletAddress === undefined && context.profileWallet({ kind: 'user', id: actor.id }) === null) {
    throw new SettleError(
      'INVALID_INPUT',
      'buyerWalletAddress is required for a buy order: the released crypto goes there and you have no profile wallet',
    );
  }
  const expiresAt = addMinutes(now, timers.openMinutes);
  return {
    id: context.id,
    orderNumber: context.orderNumber,
    status: 'open',
    orderVersion: 1,
    network,
    bookOrder: addressed === null,
    ...base,
    ...sides(base),
    cryptoAmount: input.cryptoAmount,
    cryptoCurrency: input.cryptoCurrency,
    fiatAmount: input.fiatAmount,
    fiatCurrency: input.fiatCurrency,
    rate: input.rate,
    // The fee follows the order's merchant; a book order's is settled when a merchant accepts it.
    feeBps: policy.feeBps(base.merchantId),
    paymentMethod: input.paymentMethod,
    paymentDetails: input.paymentDetails ?? null,
    paymentReference: null,
    buyerWalletAddress,
    acceptorWalletAddress: null,
    escrowTxHash: null,
    escrowFunder: null,
    escrowFunderWallet: null,
    escrowRecipientWallet: null,
    releaseTxHash: null,
    refundTxHash: null,
    extensionCount: 0,
    extensionRequestedBy: null,
    cancelRequestedBy: null,
    cancelReason: null,
    dispute: null,
    forced: null,
    expiresAt,
    paymentDeadline: null,
    timerAt: expiresAt,
    createdAt: now,
    acceptedAt: null,
    escrowedAt: null,
    paymentSentAt: null,
    paymentConfirmedAt: null,
    completedAt: null,
    cancelledAt: null,
    expiredAt: null,
    disputedAt: null,
    updatedAt: now,
  };
}

const ORDER_NUMBER_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** `BM-YYMMDD-XXXXXXXX` from a date and 8 random bytes (the caller supplies randomness). */
export function orderNumber(at: string, random: Uint8Array): string {
  const date = new Date(at);
  const yymmdd = [date.getUTCFullYear() % 100, date.getUTCMonth() + 1, date.getUTCDate()]
    .map((part) => String(part).padStart(2, '0'))
    .join('');
  const suffix = Array.from(random.slice(0, 8), (byte) => ORDER_NUMBER_ALPHABET[byte % ORDER_NUMBER_ALPHABET.length]).join('');
  if (suffix.length !== 8) throw new RangeError('orderNumber needs 8 random bytes');
  return `BM-${yymmdd}-${suffix}`;
}
