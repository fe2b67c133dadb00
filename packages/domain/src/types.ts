import type { Network } from './chains';

export const ORDER_TYPES = ['buy', 'sell', 'm2m'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

export const STATUSES = ['open', 'accepted', 'escrowed', 'payment_sent', 'completed', 'cancelled', 'expired', 'disputed'] as const;
export type Status = (typeof STATUSES)[number];
export const TERMINAL_STATUSES: readonly Status[] = ['completed', 'cancelled', 'expired'];

export const PAYMENT_METHODS = ['bank_transfer', 'upi', 'cash'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export const ROLES = ['user', 'merchant', 'compliance'] as const;
export type Role = (typeof ROLES)[number];

export const PARTY_KINDS = ['user', 'merchant'] as const;
export type PartyKind = (typeof PARTY_KINDS)[number];

/** One side of a trade. */
export interface Party {
  kind: PartyKind;
  id: string;
}

/** Who performs a change: from a verified token, or the system (timers, repairs); never from a request body. */
export type Actor = { role: Role; id: string } | { role: 'system'; id: 'system' };

export const SYSTEM_ACTOR: Actor = { role: 'system', id: 'system' };

/** A compliance force action: who ended the order outside the normal flow, and why. */
export interface Forced {
  action: 'force_cancel' | 'force_complete';
  reason: string;
  by: string;
  at: string;
}

export interface Dispute {
  reason: string;
  openedBy: Party | 'system';
  evidence: string[];
  openedAt: string;
  resolution: 'release' | 'refund' | null;
  note: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
}

/**
 * An order as the domain sees it. Money and rates are exact decimal strings; times are ISO-8601 strings.
 * `merchantId` is null for a BUY/SELL book order until a merchant accepts; `buyerMerchantId` likewise for M2M.
 */
export interface Order {
  id: string;
  orderNumber: string;
  type: OrderType;
  status: Status;
  orderVersion: number;
  /** The chain the escrow lives on; hashes and addresses are stored in its canonical form. */
  network: Network;
  /** Created without a named merchant: any merchant may accept it from the order book. */
  bookOrder: boolean;
  merchantId: string | null;
  userId: string | null;
  buyerMerchantId: string | null;
  seller: Party | null;
  buyer: Party | null;
  cryptoAmount: string;
  cryptoCurrency: string;
  fiatAmount: string;
  fiatCurrency: string;
  rate: string;
  feeBps: number;
  paymentMethod: PaymentMethod;
  paymentDetails: Record<string, unknown> | null;
  paymentReference: string | null;
  buyerWalletAddress: string | null;
  acceptorWalletAddress: string | null;
  escrowTxHash: string | null;
  escrowFunder: Party | null;
  escrowFunderWallet: string | null;
  /** Where released crypto goes, fixed when the escrow is locked: later profile changes never move it. */
  escrowRecipientWallet: string | null;
  releaseTxHash: string | null;
  refundTxHash: string | null;
  extensionCount: number;
  extensionRequestedBy: Party | null;
  cancelRequestedBy: Party | null;
  cancelReason: string | null;
  dispute: Dispute | null;
  forced: Forced | null;
  expiresAt: string | null;
  paymentDeadline: string | null;
  /** When the timer engine must act on this order next (expire, escalate or alert); null when none. */
  timerAt: string | null;
  createdAt: string;
  acceptedAt: string | null;
  escrowedAt: string | null;
  paymentSentAt: string | null;
  paymentConfirmedAt: string | null;
  completedAt: string | null;
  cancelledAt: string | null;
  expiredAt: string | null;
  disputedAt: string | null;
  updatedAt: string;
}
