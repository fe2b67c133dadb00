import { TRANSITIONS, type Action, type Who } from '@settle/contracts/browser';
import type { Order } from './api';

type Party = NonNullable<Order['seller']>;

const isMe = (party: Party | null, me: string): boolean => party !== null && party.kind === 'merchant' && party.id === me;

/** The statuses of "My active orders", in the order their groups are shown. */
export const ACTIVE_STATUSES = ['payment_sent', 'escrowed', 'accepted', 'open', 'disputed'] as const;
/** The statuses of "History". */
export const FINISHED_STATUSES = ['completed', 'cancelled', 'expired'] as const;

export const STATUS_LABELS: Record<Order['status'], string> = {
  open: 'Open',
  accepted: 'Accepted',
  escrowed: 'Escrow locked',
  payment_sent: 'Payment sent',
  completed: 'Completed',
  cancelled: 'Cancelled',
  expired: 'Expired',
  disputed: 'Disputed',
};

export const TYPE_LABELS: Record<Order['type'], string> = { buy: 'BUY', sell: 'SELL', m2m: 'M2M' };
export const METHOD_LABELS: Record<Order['paymentMethod'], string> = { bank_transfer: 'Bank transfer', upi: 'UPI', cash: 'Cash' };

/** "I sell" / "I buy" for the signed-in merchant; null when it is neither side (yet). */
export function mySide(order: Pick<Order, 'seller' | 'buyer'>, me: string): 'I sell' | 'I buy' | null {
  if (isMe(order.seller, me)) return 'I sell';
  if (isMe(order.buyer, me)) return 'I buy';
  return null;
}

/** The other party as a person reads it. */
export function counterparty(order: Order, me: string): string {
  const other = [order.seller, order.buyer].find((party) => party !== null && !isMe(party, me));
  if (other === undefined || other === null) return order.bookOrder && order.status === 'open' ? 'order book' : '—';
  return `${other.kind === 'user' ? 'user' : 'merchant'} ${other.id}`;
}

function fits(who: Who, order: Order, me: string): boolean {
  const creator: Party = order.type === 'm2m' ? { kind: 'merchant', id: order.merchantId ?? '' } : { kind: 'user', id: order.userId ?? '' };
  const counter = order.type === 'm2m' ? order.buyerMerchantId : order.merchantId;
  switch (who) {
    case 'creator':
      return isMe(creator, me);
    case 'counterparty':
      return counter !== null ? counter === me : order.bookOrder && !isMe(creator, me);
    case 'party':
      return isMe(creator, me) || counter === me;
    case 'seller':
      return isMe(order.seller, me);
    case 'buyer':
      return isMe(order.buyer, me);
    case 'funder':
      return isMe(order.escrowFunder, me);
    default:
      return false;
  }
}

/** The actions a merchant takes from the desk, in the order their buttons appear. */
export const DESK_ACTIONS = [
  'accept',
  'lock_escrow',
  'mark_paid',
  'confirm_and_release',
  'agree_cancel',
  'request_cancel',
  'cancel',
  'agree_extension',
  'request_extension',
  'dispute',
] as const satisfies readonly Action[];
export type DeskAction = (typeof DESK_ACTIONS)[number];

/** POST /v1/orders/:id/<path> of each action. */
export const ACTION_PATHS: Record<DeskAction, string> = {
  accept: 'accept',
  lock_escrow: 'escrow',
  mark_paid: 'payment-sent',
  confirm_and_release: 'release',
  cancel: 'cancel',
  request_cancel: 'cancel-request',
  agree_cancel: 'cancel-agree',
  request_extension: 'extension-request',
  agree_extension: 'extension-accept',
  dispute: 'dispute',
};

export const ACTION_LABELS: Record<DeskAction, string> = {
  accept: 'Accept',
  lock_escrow: 'Lock escrow',
  mark_paid: 'Mark paid',
  confirm_and_release: 'Confirm & release',
  cancel: 'Cancel',
  request_cancel: 'Request cancel',
  agree_cancel: 'Agree to cancel',
  request_extension: 'Request extension',
  agree_extension: 'Agree to extension',
  dispute: 'Dispute',
};

/** Whether the seller's crypto is in escrow: cancelling then records the refund's tx hash. */
export const cryptoLocked = (order: Order): boolean => order.status === 'escrowed' || order.status === 'payment_sent';

/**
 * The actions the signed-in merchant may take on `order` now: the state machine's rules for its status and side,
 * narrowed by the pending requests (agree only to the other party's request, request only when none is pending).
 */
export function availableActions(order: Order, me: string): DeskAction[] {
  const allowed = new Set(TRANSITIONS.filter((rule) => rule.from === order.status && fits(rule.who, order, me)).map((rule) => rule.action));
  const requestedByMe = (party: Party | null): boolean => isMe(party, me);
  return DESK_ACTIONS.filter((action) => {
    if (!allowed.has(action)) return false;
    if (action === 'agree_cancel') return order.cancelRequestedBy !== null && !requestedByMe(order.cancelRequestedBy);
    if (action === 'request_cancel') return order.cancelRequestedBy === null;
    if (action === 'agree_extension') return order.extensionRequestedBy !== null && !requestedByMe(order.extensionRequestedBy);
    if (action === 'request_extension') return order.extensionRequestedBy === null && order.extensionCount < 3;
    // A buyer's cancel after escrow while the seller asked for one is the agreement: offer that button instead.
    if (action === 'cancel' && cryptoLocked(order)) return order.cancelRequestedBy === null;
    return true;
  });
}

/** Orders with the nearest deadline first; those without one last. */
export function byDeadline(a: Order, b: Order): number {
  const at = (order: Order): number => (order.timerAt === null ? Number.POSITIVE_INFINITY : Date.parse(order.timerAt));
  return at(a) - at(b) || a.id.localeCompare(b.id);
}
