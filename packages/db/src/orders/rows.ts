import type { Dispute, Forced, Network, Order, Party, PartyKind } from '@settle/domain';

/** An `orders` row as pg returns it (NUMERIC as string, timestamptz as Date), plus joined profile wallets. */
export type OrderRow = Record<string, unknown>;

/** A column's scalar value (text, number, bigint) as a string; anything else as its JSON. */
const scalar = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean'
      ? value.toString()
      : JSON.stringify(value);
/** A timestamptz as an ISO string in UTC with milliseconds: from a Date (a column) or a JSON timestamp (to_json). */
const iso = (value: unknown): string | null =>
  value instanceof Date ? value.toISOString() : value === null || value === undefined ? null : new Date(scalar(value)).toISOString();
const text = (value: unknown): string | null => (value === null || value === undefined ? null : scalar(value));
const party = (kind: unknown, id: unknown): Party | null =>
  kind === null || kind === undefined || id === null || id === undefined ? null : { kind: kind as PartyKind, id: scalar(id) };

/** The NUMERIC columns of `orders`: a JSON read of the row (to_json) carries them again as text, to stay exact. */
export const NUMERIC_COLUMNS = ['crypto_amount', 'fiat_amount', 'rate'] as const;

/**
 * Maps a row of `SELECT to_json(o) AS "order", <NUMERIC_COLUMNS>::text FROM orders o` to the domain's Order:
 * the JSON object's numbers would be floats, so the NUMERIC columns come from their text columns.
 */
export function orderFromJsonRow(row: OrderRow): Order {
  const order = row['order'] as OrderRow;
  for (const name of NUMERIC_COLUMNS) order[name] = row[name];
  return orderFromRow(order);
}

/** Maps a row of `orders` to the domain's Order. */
export function orderFromRow(row: OrderRow): Order {
  return {
    id: String(row['id']),
    orderNumber: String(row['order_number']),
    type: row['type'] as Order['type'],
    status: row['status'] as Order['status'],
    orderVersion: Number(row['order_version']),
    network: row['network'] as Network,
    bookOrder: Boolean(row['book_order']),
    merchantId: text(row['merchant_id']),
    userId: text(row['user_id']),
    buyerMerchantId: text(row['buyer_merchant_id']),
    seller: party(row['seller_kind'], row['seller_id']),
    buyer: party(row['buyer_kind'], row['buyer_id']),
    cryptoAmount: String(row['crypto_amount']),
    cryptoCurrency: String(row['crypto_currency']),
    fiatAmount: String(row['fiat_amount']),
    fiatCurrency: String(row['fiat_currency']),
    rate: String(row['rate']),
    feeBps: Number(row['fee_bps']),
    paymentMethod: row['payment_method'] as Order['paymentMethod'],
    paymentDetails: (row['payment_details'] as Record<string, unknown> | null) ?? null,
    paymentReference: text(row['payment_reference']),
    buyerWalletAddress: text(row['buyer_wallet_address']),
    acceptorWalletAddress: text(row['acceptor_wallet_address']),
    escrowTxHash: text(row['escrow_tx_hash']),
    escrowFunder: party(row['escrow_funder_kind'], row['escrow_funder_id']),
    escrowFunderWallet: text(row['escrow_funder_wallet']),
    escrowRecipientWallet: text(row['escrow_recipient_wallet']),
    releaseTxHash: text(row['release_tx_hash']),
    refundTxHash: text(row['refund_tx_hash']),
    extensionCount: Number(row['extension_count']),
    extensionRequestedBy: party(row['extension_requested_by_kind'], row['extension_requested_by_id']),
    cancelRequestedBy: party(row['cancel_requested_by_kind'], row['cancel_requested_by_id']),
    cancelReason: text(row['cancel_reason']),
    dispute: (row['dispute'] as Dispute | null) ?? null,
    forced: (row['forced'] as Forced | null) ?? null,
    expiresAt: iso(row['expires_at']),
    paymentDeadline: iso(row['payment_deadline']),
    timerAt: iso(row['timer_at']),
    createdAt: iso(row['created_at']) ?? '',
    acceptedAt: iso(row['accepted_at']),
    escrowedAt: iso(row['escrowed_at']),
    paymentSentAt: iso(row['payment_sent_at']),
    paymentConfirmedAt: iso(row['payment_confirmed_at']),
    completedAt: iso(row['completed_at']),
    cancelledAt: iso(row['cancelled_at']),
    expiredAt: iso(row['expired_at']),
    disputedAt: iso(row['disputed_at']),
    updatedAt: iso(row['updated_at']) ?? '',
  };
}

const json = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

/** The columns the transition path writes, in order, with how each comes from an Order. */
export const WRITTEN_COLUMNS: ReadonlyArray<readonly [string, (order: Order) => unknown]> = [
  ['status', (o) => o.status],
  ['order_version', (o) => o.orderVersion],
  ['merchant_id', (o) => o.merchantId],
  ['buyer_merchant_id', (o) => o.buyerMerchantId],
  ['fee_bps', (o) => o.feeBps],
  ['seller_kind', (o) => o.seller?.kind ?? null],
  ['seller_id', (o) => o.seller?.id ?? null],
  ['buyer_kind', (o) => o.buyer?.kind ?? null],
  ['buyer_id', (o) => o.buyer?.id ?? null],
  ['payment_reference', (o) => o.paymentReference],
  ['acceptor_wallet_address', (o) => o.acceptorWalletAddress],
  ['escrow_tx_hash', (o) => o.escrowTxHash],
  ['escrow_funder_kind', (o) => o.escrowFunder?.kind ?? null],
  ['escrow_funder_id', (o) => o.escrowFunder?.id ?? null],
  ['escrow_funder_wallet', (o) => o.escrowFunderWallet],
  ['escrow_recipient_wallet', (o) => o.escrowRecipientWallet],
  ['release_tx_hash', (o) => o.releaseTxHash],
  ['refund_tx_hash', (o) => o.refundTxHash],
  ['extension_count', (o) => o.extensionCount],
  ['extension_requested_by_kind', (o) => o.extensionRequestedBy?.kind ?? null],
  ['extension_requested_by_id', (o) => o.extensionRequestedBy?.id ?? null],
  ['cancel_requested_by_kind', (o) => o.cancelRequestedBy?.kind ?? null],
  ['cancel_requested_by_id', (o) => o.cancelRequestedBy?.id ?? null],
  ['cancel_reason', (o) => o.cancelReason],
  ['dispute', (o) => json(o.dispute)],
  ['forced', (o) => json(o.forced)],
  ['expires_at', (o) => o.expiresAt],
  ['payment_deadline', (o) => o.paymentDeadline],
  ['timer_at', (o) => o.timerAt],
  ['accepted_at', (o) => o.acceptedAt],
  ['escrowed_at', (o) => o.escrowedAt],
  ['payment_sent_at', (o) => o.paymentSentAt],
  ['payment_confirmed_at', (o) => o.paymentConfirmedAt],
  ['completed_at', (o) => o.completedAt],
  ['cancelled_at', (o) => o.cancelledAt],
  ['expired_at', (o) => o.expiredAt],
  ['disputed_at', (o) => o.disputedAt],
  ['updated_at', (o) => o.updatedAt],
];

/** Columns set once at creation and never changed by a transition. */
export const CREATED_COLUMNS: ReadonlyArray<readonly [string, (order: Order) => unknown]> = [
  ['id', (o) => o.id],
  ['order_number', (o) => o.orderNumber],
  ['type', (o) => o.type],
  ['network', (o) => o.network],
  ['book_order', (o) => o.bookOrder],
  ['user_id', (o) => o.userId],
  ['crypto_amount', (o) => o.cryptoAmount],
  ['crypto_currency', (o) => o.cryptoCurrency],
  ['fiat_amount', (o) => o.fiatAmount],
  ['fiat_currency', (o) => o.fiatCurrency],
  ['rate', (o) => o.rate],
  ['payment_method', (o) => o.paymentMethod],
  ['payment_details', (o) => json(o.paymentDetails)],
  ['buyer_wallet_address', (o) => o.buyerWalletAddress],
  ['created_at', (o) => o.createdAt],
];
