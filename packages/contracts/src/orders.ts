import { bookSummary, orderEvent, orderView } from '@settle/wire';
import { z } from './zod';
import {
  currency,
  decimalString,
  fiatCurrency,
  network,
  orderType,
  partyId,
  paymentMethod,
  shortText,
  status,
  txHash,
  walletAddress,
} from './common';

// The order view, the event's order snapshot, the book summary and the order event are defined once, in @settle/wire.
export { bookSummary, disputeSchema, eventOrderView, forcedSchema, orderEvent, orderView } from '@settle/wire';
export type { OrderEvent as OrderEventDto, OrderView as OrderViewDto } from '@settle/wire';

// ---- request bodies -------------------------------------------------------------------------------------

export const createOrderBody = z
  .strictObject({
    type: orderType,
    merchantId: partyId.optional().openapi({ description: 'the merchant the order is addressed to; omit to publish it on the order book' }),
    network: network.optional().openapi({ description: "the escrow's chain; the configured default (DEFAULT_NETWORK, tron) when omitted" }),
    cryptoAmount: decimalString('cryptoAmount'),
    cryptoCurrency: currency('cryptoCurrency')
      .default('USDT')
      .openapi({ description: 'one of the configured crypto currencies (CRYPTO_CURRENCIES)' }),
    fiatAmount: decimalString('fiatAmount').openapi({
      description: 'cryptoAmount × rate within one minor unit of fiatCurrency, with at most its minor units of decimals',
    }),
    fiatCurrency,
    rate: decimalString('rate'),
    feeBps: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .optional()
      .openapi({ deprecated: true, description: 'ignored: the fee comes from configuration (per merchant, with a platform default)' }),
    paymentMethod,
    paymentDetails: z
      .record(z.string().max(64), z.union([z.string().max(500), z.number(), z.boolean()]))
      .refine((value) => Object.keys(value).length <= 20, 'paymentDetails has at most 20 fields')
      .optional(),
    buyerWalletAddress: walletAddress.optional().openapi({ description: 'required for buy orders unless your profile has a wallet' }),
  })
  .openapi('CreateOrder');

export const acceptBody = z
  .strictObject({
    walletAddress: walletAddress.optional().openapi({ description: 'required for sell and m2m orders unless your profile has a wallet' }),
  })
  .openapi('AcceptOrder');
export const escrowBody = z.strictObject({ txHash, funderWallet: walletAddress.optional() }).openapi('LockEscrow');
export const paymentSentBody = z.strictObject({ paymentReference: shortText('paymentReference', 200).optional() }).openapi('MarkPaid');
export const releaseBody = z.strictObject({ txHash }).openapi('Release');
export const cancelBody = z.strictObject({ reason: shortText('reason').optional(), refundTxHash: txHash.optional() }).openapi('Cancel');
export const cancelRequestBody = z
  .strictObject({
    reason: shortText('reason').optional(),
    refundTxHash: txHash.optional().openapi({
      description: "required when this request agrees to the other party's pending request (it then cancels the escrowed order)",
    }),
  })
  .openapi('CancelRequest');
export const emptyBody = z.strictObject({}).openapi('Empty');
export const disputeBody = z
  .strictObject({ reason: shortText('reason'), evidence: z.array(shortText('evidence', 500)).max(20).optional() })
  .openapi('OpenDispute');
export const forceCancelBody = z
  .strictObject({
    reason: shortText('reason'),
    refundTxHash: txHash.optional().openapi({ description: 'required when crypto is locked in escrow; omitted otherwise' }),
  })
  .openapi('ForceCancel');
export const forceCompleteBody = z.strictObject({ reason: shortText('reason'), releaseTxHash: txHash }).openapi('ForceComplete');
export const resolveDisputeBody = z
  .strictObject({ outcome: z.enum(['release', 'refund']), txHash, note: shortText('note') })
  .openapi('ResolveDispute');
/** The original client's release call: actor fields are accepted and ignored (the actor is the token's). */
export const legacyEscrowPatchBody = z
  .object({ tx_hash: txHash, actor_type: z.string().optional(), actor_id: z.string().optional() })
  .openapi('LegacyRelease');

/** Statuses a list may filter by: one (`open`) or several, comma-separated (`escrowed,payment_sent`). */
const statusList = z
  .string()
  .max(200)
  .transform((text) => text.split(','))
  .pipe(
    z
      .array(status, { error: `status is one or more of ${status.options.join(', ')}, comma-separated` })
      .min(1)
      .max(status.options.length),
  )
  .openapi({
    type: 'string',
    example: 'escrowed,payment_sent',
    description: `one status or several, comma-separated: ${status.options.join(', ')}`,
  });

/** A query-string instant: ISO 8601 with a time zone (`2026-11-25T10:00:00Z`, `…+04:00`). */
const queryTime = (what: string) =>
  z.iso
    .datetime({ offset: true, error: `${what} must be an ISO 8601 date-time with a time zone, such as 2026-11-25T10:00:00Z` })
    .refine(isRealDay, `${what} names a day that does not exist (years 0001–9999)`)
    .openapi({ format: 'date-time', example: '2026-11-25T10:00:00Z' });

/** Whether an ISO date-time's day exists (no February 30, no year 0000): Postgres refuses those, JS rolls them over. */
function isRealDay(time: string): boolean {
  const [year = 0, month = 0, day = 0] = time.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export const listOrdersQuery = z
  .strictObject({
    status: statusList.optional(),
    role: z.enum(['buyer', 'seller']).optional().openapi({ description: 'only orders where you are this side' }),
    sort: z
      .enum(['created', 'deadline'])
      .default('created')
      .openapi({ description: 'created: newest first; deadline: the nearest timerAt first, orders without one last' }),
    from: queryTime('from').optional().openapi({ description: 'only orders created at or after this instant' }),
    to: queryTime('to').optional().openapi({ description: 'only orders created before this instant' }),
    cursor: z.string().max(200).optional().openapi({ description: 'nextCursor of the previous page, with the same sort' }),
    limit: z.coerce.number().int().min(1, 'limit is at least 1').max(200, 'limit is at most 200').default(50),
  })
  .refine((query) => query.from === undefined || query.to === undefined || Date.parse(query.from) < Date.parse(query.to), {
    message: 'from must be before to',
    path: ['from'],
  })
  .openapi('ListOrdersQuery');
export type ListOrdersQuery = z.infer<typeof listOrdersQuery>;

export const orderList = z.object({ items: z.array(orderView), nextCursor: z.string().nullable() }).openapi('OrderList');
export const bookList = z
  .object({
    items: z.array(bookSummary),
    bookSeq: z.number().int().openapi({ description: 'the book sequence this snapshot is current to' }),
  })
  .openapi('OrderBook');
export const eventList = z.object({ items: z.array(orderEvent) }).openapi('OrderEventList');

export const devTokenBody = z
  .strictObject({
    role: z.enum(['user', 'merchant', 'compliance']),
    id: partyId,
    walletAddress: walletAddress.optional().openapi({ description: 'stored as the profile wallet on `network`' }),
    network: network.optional().openapi({ description: 'the network of walletAddress; the configured default when omitted' }),
    name: shortText('name', 100).optional(),
  })
  .openapi('DevTokenRequest');

/** A party's profile wallets, one per network. */
export const profileWallets = z.partialRecord(network, z.string()).openapi('ProfileWallets', { description: 'profile wallet per network' });
/** GET /v1/account: the caller's account and its profile wallets. */
export const accountView = z
  .object({ kind: z.enum(['user', 'merchant']), id: z.string(), name: z.string().nullable(), wallets: profileWallets })
  .openapi('Account');
export type AccountView = z.infer<typeof accountView>;
export const walletBody = z.strictObject({ address: walletAddress }).openapi('SetWallet');

export const merchantSummary = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    walletAddress: z
      .string()
      .nullable()
      .openapi({ description: 'your own profile wallet on the default network; null for other merchants' }),
    wallets: profileWallets.nullable().openapi({ description: 'your own profile wallets per network; null for other merchants' }),
  })
  .openapi('Merchant');

export const problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    orderVersion: z.number().int().optional(),
    orderStatus: status.optional(),
    expectedFiatAmount: z
      .string()
      .optional()
      .openapi({ description: 'the fiat amount cryptoAmount × rate gives, when fiatAmount does not match it' }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');
