import type { Party } from '@settle/wire';
import { sides } from './sides';
import type { Order } from './types';

/** Looks up a party's profile wallet address on the order's network; null when it has none. */
export type ProfileWallets = (party: Party) => string | null;

/**
 * Where released crypto goes — the one rule the API, events and UI share:
 * BUY → the user's `buyerWalletAddress` (given at creation), else the user's profile wallet;
 * SELL → the merchant's `acceptorWalletAddress` (given at accept), else its profile wallet;
 * M2M → the buying merchant's wallet: `acceptorWalletAddress` (it is the acceptor), else its profile wallet.
 * Always the buyer's wallet, never the seller's. Once the escrow is locked it is the wallet frozen then.
 */
export function recipientWallet(
  order: Pick<
    Order,
    'type' | 'userId' | 'merchantId' | 'buyerMerchantId' | 'buyerWalletAddress' | 'acceptorWalletAddress' | 'escrowRecipientWallet'
  >,
  profileWallet: ProfileWallets,
): string | null {
  if (order.escrowRecipientWallet !== null) return order.escrowRecipientWallet;
  const { buyer } = sides(order);
  const given = order.type === 'buy' ? order.buyerWalletAddress : order.acceptorWalletAddress;
  if (given !== null) return given;
  return buyer === null ? null : profileWallet(buyer);
}
