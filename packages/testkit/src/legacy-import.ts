import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from '@settle/db';
import { createOrder, orderNumber, type Order, type Status } from '@settle/domain';
import { testAddress } from './chain-fixtures';

/** What an import from the old system left: an order row in some status with whatever hashes it had. */
export interface LegacyOrder {
  status: Status;
  merchantId: string;
  userId: string;
  escrowTxHash?: string | null;
  releaseTxHash?: string | null;
  refundTxHash?: string | null;
  /** The status's deadline as imported. */
  timerAt?: string | null;
  createdAt?: string;
}

/**
 * Writes a SELL order row directly, as an import from the old system would leave it (no event, no outbox row):
 * the one sanctioned writer beside the write path, for reconciler and repair tests. Hashes are claimed in
 * tx_hashes like the write path claims them. Returns the order as written.
 */
export async function importLegacyOrder(pool: Pool, legacy: LegacyOrder): Promise<Order> {
  const createdAt = legacy.createdAt ?? new Date(Date.now() - 3_600_000).toISOString();
  const base = createOrder(
    {
      type: 'sell',
      merchantId: legacy.merchantId,
      cryptoAmount: '100',
      cryptoCurrency: 'USDT',
      fiatAmount: '367.25',
      fiatCurrency: 'AED',
      rate: '3.6725',
      paymentMethod: 'bank_transfer',
    },
    { role: 'user', id: legacy.userId },
    { id: randomUUID(), orderNumber: orderNumber(createdAt, randomBytes(8)), now: createdAt, profileWallet: () => null },
  );
  const locked =
    ['escrowed', 'payment_sent', 'disputed', 'completed'].includes(legacy.status) ||
    (legacy.status === 'cancelled' && legacy.escrowTxHash != null);
  const order: Order = {
    ...base,
    status: legacy.status,
    orderVersion: 3,
    acceptorWalletAddress: testAddress(`legacy-${base.id}`),
    escrowTxHash: legacy.escrowTxHash ?? null,
    escrowFunder: locked ? { kind: 'user', id: legacy.userId } : null,
    escrowRecipientWallet: locked ? testAddress(`legacy-${base.id}`) : null,
    releaseTxHash: legacy.releaseTxHash ?? null,
    refundTxHash: legacy.refundTxHash ?? null,
    timerAt: legacy.timerAt ?? null,
    acceptedAt: createdAt,
    escrowedAt: locked ? createdAt : null,
  };
  await pool.query(
    `WITH imported AS (
       INSERT INTO orders (id, order_number, type, network, status, order_version, book_order, merchant_id, user_id, seller_kind, seller_id, buyer_kind, buyer_id,
                           crypto_amount, crypto_currency, fiat_amount, fiat_currency, rate, fee_bps, payment_method, acceptor_wallet_address,
                           escrow_tx_hash, escrow_funder_kind, escrow_funder_id, escrow_recipient_wallet, release_tx_hash, refund_tx_hash,
                           timer_at, created_at, accepted_at, escrowed_at, updated_at)
       VALUES ($1, $2, 'sell', $3, $4, $5, false, $6, $7, 'user', $7, 'merchant', $6, 100, 'USDT', 367.25, 'AED', 3.6725, 0, 'bank_transfer', $8,
               $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $16)
       RETURNING id, network
     )
     INSERT INTO tx_hashes (network, hash, order_id, kind)
     SELECT imported.network, h.hash, imported.id, h.kind FROM imported, unnest($18::text[], $19::text[]) AS h (hash, kind) WHERE h.hash IS NOT NULL`,
    [
      order.id,
      order.orderNumber,
      order.network,
      order.status,
      order.orderVersion,
      legacy.merchantId,
      legacy.userId,
      order.acceptorWalletAddress,
      order.escrowTxHash,
      order.escrowFunder?.kind ?? null,
      order.escrowFunder?.id ?? null,
      order.escrowRecipientWallet,
      order.releaseTxHash,
      order.refundTxHash,
      order.timerAt,
      createdAt,
      order.escrowedAt,
      [order.escrowTxHash, order.releaseTxHash, order.refundTxHash],
      ['escrow', 'release', 'refund'],
    ],
  );
  return order;
}
