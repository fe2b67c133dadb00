import type { Dispute, EventType, Party, Status } from '@settle/wire';
import { canonicalAddress, canonicalTxHash } from './chains';
import { SettleError } from './errors';
import { DEFAULT_POLICY, type OrderPolicy } from './policy';
import { actorParty, canSee, counterpartyOf, creatorOf, isParty, sameParty, sides } from './sides';
import { addMinutes, isDue } from './timers';
import type { Actor, Order } from './types';
import { recipientWallet, type ProfileWallets } from './wallet';

/** Who may take an action, relative to the order. */
export type Who = 'creator' | 'counterparty' | 'party' | 'seller' | 'buyer' | 'funder' | 'compliance' | 'system';

export type Command =
  | { action: 'accept'; walletAddress?: string | undefined }
  | { action: 'lock_escrow'; txHash: string; funderWallet?: string | undefined }
  | { action: 'mark_paid'; paymentReference?: string | undefined }
  | { action: 'confirm_and_release'; txHash: string }
  | { action: 'cancel'; reason?: string | undefined; refundTxHash?: string | undefined }
  | { action: 'request_cancel'; reason?: string | undefined; refundTxHash?: string | undefined }
  | { action: 'agree_cancel'; refundTxHash?: string | undefined }
  | { action: 'request_extension' }
  | { action: 'agree_extension' }
  | { action: 'dispute'; reason: string; evidence?: string[] | undefined }
  | { action: 'resolve_dispute'; outcome: 'release' | 'refund'; txHash: string; note: string }
  | { action: 'force_cancel'; reason: string; refundTxHash?: string | undefined }
  | { action: 'force_complete'; reason: string; releaseTxHash: string }
  | { action: 'repair_complete' }
  | { action: 'repair_refund' }
  | { action: 'expire' }
  | { action: 'escalate' };
export type Action = Command['action'];

export interface TransitionRule {
  action: Action;
  from: Status;
  /** The next status; resolve_dispute's depends on the outcome. */
  to: Status | { release: Status; refund: Status };
  who: Who;
  event: EventType;
}

const rule = (action: Action, from: Status, to: TransitionRule['to'], who: Who, event: EventType): TransitionRule => ({
  action,
  from,
  to,
  who,
  event,
});

/** The state machine: nothing else changes a status. Any (action, status) pair not listed is a 409. */
export const TRANSITIONS: readonly TransitionRule[] = [
  rule('accept', 'open', 'accepted', 'counterparty', 'order.accepted'),
  rule('lock_escrow', 'accepted', 'escrowed', 'seller', 'order.escrow_locked'),
  rule('mark_paid', 'escrowed', 'payment_sent', 'buyer', 'order.payment_sent'),
  rule('confirm_and_release', 'payment_sent', 'completed', 'funder', 'order.completed'),
  rule('cancel', 'open', 'cancelled', 'creator', 'order.cancelled'),
  rule('cancel', 'accepted', 'cancelled', 'party', 'order.cancelled'),
  rule('cancel', 'escrowed', 'cancelled', 'buyer', 'order.cancelled'),
  rule('request_cancel', 'escrowed', 'escrowed', 'party', 'order.cancel_requested'),
  rule('request_cancel', 'payment_sent', 'payment_sent', 'party', 'order.cancel_requested'),
  rule('agree_cancel', 'escrowed', 'cancelled', 'party', 'order.cancelled'),
  rule('agree_cancel', 'payment_sent', 'cancelled', 'party', 'order.cancelled'),
  rule('request_extension', 'escrowed', 'escrowed', 'party', 'order.extension_requested'),
  rule('agree_extension', 'escrowed', 'escrowed', 'party', 'order.extension_granted'),
  rule('dispute', 'escrowed', 'disputed', 'party', 'order.disputed'),
  rule('dispute', 'payment_sent', 'disputed', 'party', 'order.disputed'),
  rule('resolve_dispute', 'disputed', { release: 'completed', refund: 'cancelled' }, 'compliance', 'order.dispute_resolved'),
  ...(['open', 'accepted', 'escrowed', 'payment_sent', 'disputed'] as const).flatMap((from) => [
    rule('force_cancel', from, 'cancelled', 'compliance', 'order.cancelled'),
    rule('force_complete', from, 'completed', 'compliance', 'order.completed'),
  ]),
  // Repairs of orders whose recorded evidence disagrees with their status (imported from the old system).
  ...(['escrowed', 'payment_sent', 'disputed'] as const).flatMap((from) => [
    rule('repair_complete', from, 'completed', 'system', 'order.completed'),
    rule('repair_refund', from, 'cancelled', 'system', 'order.cancelled'),
  ]),
  rule('expire', 'open', 'expired', 'system', 'order.expired'),
  rule('expire', 'accepted', 'expired', 'system', 'order.expired'),
  rule('escalate', 'escrowed', 'disputed', 'system', 'order.disputed'),
  rule('escalate', 'payment_sent', 'disputed', 'system', 'order.disputed'),
];

export interface DecideContext {
  now: string;
  /** Profile wallets on the order's network. */
  profileWallet: ProfileWallets;
  policy?: OrderPolicy;
}

export type Decision =
  /** A transition: persist `order` (version + 1) with one event of `eventType`. */
  | { kind: 'transition'; order: Order; previousStatus: Status; eventType: EventType; action: Action; audit: { reason: string } | null }
  /** Nothing to change (an idempotent repeat): answer with the order as it is, write nothing. */
  | { kind: 'unchanged'; order: Order };

/** Whether `actor` fits `who` for this order. Book orders accept any merchant other than the creator. */
export function fits(who: Who, order: Order, actor: Actor): boolean {
  const party = actorParty(actor);
  switch (who) {
    case 'system':
      return actor.role === 'system';
    case 'compliance':
      return actor.role === 'compliance';
    case 'creator':
      return sameParty(creatorOf(order), party);
    case 'counterparty': {
      const counterparty = counterpartyOf(order);
      if (counterparty !== null) return sameParty(counterparty, party);
      return order.bookOrder && actor.role === 'merchant' && !sameParty(creatorOf(order), party);
    }
    case 'party':
      return isParty(order, actor);
    case 'seller':
      return sameParty(sides(order).seller, party);
    case 'buyer':
      return sameParty(sides(order).buyer, party);
    case 'funder':
      return sameParty(order.escrowFunder, party);
  }
}

function conflict(order: Order, detail: string): SettleError {
  return new SettleError('CONFLICT', detail, { extra: { orderVersion: order.orderVersion, status: order.status } });
}

const otherParty = (order: Order, actor: Actor): Party | null => {
  const party = actorParty(actor);
  return isParty(order, actor) && party !== null
    ? ([creatorOf(order), counterpartyOf(order)].find((p) => p !== null && !sameParty(p, party)) ?? null)
    : null;
};

/**
 * A mutual cancel completes when the second party asks: a cancel request (or a plain cancel after escrow)
 * from the party the other one is waiting on becomes the agreement.
 */
function normalize(order: Order, command: Command, actor: Actor): Command {
  const waitingOnActor = order.cancelRequestedBy !== null && sameParty(order.cancelRequestedBy, otherParty(order, actor));
  if (!waitingOnActor) return command;
  if (command.action === 'request_cancel') return { action: 'agree_cancel', refundTxHash: command.refundTxHash };
  if (command.action === 'cancel' && (order.status === 'escrowed' || order.status === 'payment_sent')) {
    return { action: 'agree_cancel', refundTxHash: command.refundTxHash };
  }
  return command;
}

/**
 * The first check of every action: an order the actor may not see is "not found" (404), never someone else's.
 * Every merchant saw a book order in the book, so the losers of an accept race learn it is taken (409).
 */
export function assertVisible(order: Order, action: Action, actor: Actor): void {
  if (action === 'accept' && order.bookOrder && actor.role === 'merchant' && order.status !== 'open' && !isParty(order, actor)) {
    throw conflict(order, 'this book order was already taken by another merchant');
  }
  if (!canSee(order, actor)) throw new SettleError('NOT_FOUND', `order ${order.id} was not found`);
}

/**
 * Decides what a command does to an order, purely. Checks in this order: visibility (404), status (409),
 * side (403), then the action's own requirements. Throws SettleError; never mutates its input.
 */
export function decide(order: Order, input: Command, actor: Actor, context: DecideContext): Decision {
  const policy = context.policy ?? DEFAULT_POLICY;
  const timers = policy.timers;
  assertVisible(order, input.action, actor);
  const command = normalize(order, input, actor);

  // An escrow lock repeated with the same hash (in any spelling) is answered as done; another hash is a conflict.
  if (command.action === 'lock_escrow' && order.escrowTxHash !== null) {
    const hash = canonicalTxHash(order.network, command.txHash);
    if (order.escrowTxHash === hash && fits('seller', order, actor)) return { kind: 'unchanged', order };
    throw conflict(order, `escrow is already locked with transaction ${order.escrowTxHash}; a different hash cannot replace it`);
  }

  const candidates = TRANSITIONS.filter((candidate) => candidate.action === command.action && candidate.from === order.status);
  if (candidates.length === 0) {
    throw conflict(order, `cannot ${command.action.replaceAll('_', ' ')} an order that is ${order.status}`);
  }
  const chosen = candidates.find((candidate) => fits(candidate.who, order, actor));
  if (chosen === undefined) throw forbidden(order, command, actor);

  const now = context.now;
  const next: Order = { ...order, updatedAt: now };
  const to = typeof chosen.to === 'string' ? chosen.to : chosen.to[(command as Extract<Command, { action: 'resolve_dispute' }>).outcome];
  next.status = to;
  const party = actorParty(actor);

  switch (command.action) {
    case 'accept': {
      const acceptor = party as Party;
      if (order.type === 'm2m') next.buyerMerchantId = acceptor.id;
      else next.merchantId = acceptor.id;
      if (order.type !== 'buy') {
        const given = command.walletAddress === undefined ? null : canonicalAddress(order.network, command.walletAddress);
        if (given === null && context.profileWallet(acceptor) === null) {
          throw new SettleError(
            'INVALID_INPUT',
            `walletAddress is required to accept a ${order.type} order: the released crypto goes to the accepting merchant's wallet and it has no ${order.network} profile wallet`,
          );
        }
        next.acceptorWalletAddress = given;
      }
      Object.assign(next, sides(next));
      if (order.type !== 'm2m') next.feeBps = policy.feeBps(acceptor.id);
      next.acceptedAt = now;
      next.expiresAt = addMinutes(now, timers.acceptedMinutes);
      next.timerAt = next.expiresAt;
      break;
    }
    case 'lock_escrow': {
      const recipient = recipientWallet(order, context.profileWallet);
      if (recipient === null)
        throw conflict(order, `the buyer has no ${order.network} wallet to release to; it must set one before the escrow is locked`);
      next.escrowTxHash = canonicalTxHash(order.network, command.txHash);
      next.escrowFunder = party;
      next.escrowFunderWallet =
        command.funderWallet === undefined ? null : canonicalAddress(order.network, command.funderWallet, 'funderWallet');
      next.escrowRecipientWallet = recipient;
      next.escrowedAt = now;
      next.expiresAt = null;
      next.paymentDeadline = addMinutes(now, timers.paymentWindowMinutes[order.paymentMethod]);
      next.timerAt = next.paymentDeadline;
      break;
    }
    case 'mark_paid':
      if (order.paymentDeadline !== null && Date.parse(order.paymentDeadline) < Date.parse(now)) {
        throw conflict(order, `the payment deadline passed at ${order.paymentDeadline}; request an extension or open a dispute`);
      }
      next.paymentReference = command.paymentReference ?? null;
      next.paymentSentAt = now;
      next.extensionRequestedBy = null;
      next.timerAt = addMinutes(now, timers.confirmMinutes);
      break;
    case 'confirm_and_release':
      next.releaseTxHash = settlementHash(order, command.txHash, 'txHash', 'release');
      next.paymentConfirmedAt = now;
      next.completedAt = now;
      next.timerAt = null;
      break;
    case 'cancel':
      next.cancelReason = command.reason ?? null;
      next.refundTxHash = refundHash(order, command.refundTxHash);
      next.cancelledAt = now;
      next.timerAt = null;
      break;
    case 'request_cancel':
      if (order.cancelRequestedBy !== null) throw conflict(order, 'a cancel is already requested; the other party must agree');
      next.cancelRequestedBy = party;
      next.cancelReason = command.reason ?? null;
      break;
    case 'agree_cancel':
      if (order.cancelRequestedBy === null || !sameParty(order.cancelRequestedBy, otherParty(order, actor))) {
        throw conflict(order, 'there is no cancel request from the other party to agree to');
      }
      next.refundTxHash = refundHash(order, command.refundTxHash);
      next.cancelledAt = now;
      next.timerAt = null;
      break;
    case 'request_extension':
      if (order.extensionCount >= timers.maxExtensions)
        throw conflict(order, `the payment deadline was already extended ${order.extensionCount} times (the maximum)`);
      if (order.extensionRequestedBy !== null) throw conflict(order, 'an extension is already requested; the other party must accept it');
      next.extensionRequestedBy = party;
      break;
    case 'agree_extension': {
      if (order.extensionRequestedBy === null || !sameParty(order.extensionRequestedBy, otherParty(order, actor))) {
        throw conflict(order, 'there is no extension request from the other party to accept');
      }
      const window = timers.paymentWindowMinutes[order.paymentMethod];
      next.paymentDeadline = addMinutes(order.paymentDeadline ?? now, window);
      next.timerAt = next.paymentDeadline;
      next.extensionCount = order.extensionCount + 1;
      next.extensionRequestedBy = null;
      break;
    }
    case 'dispute':
      next.dispute = openDispute(command.reason, party as Party, command.evidence ?? [], now);
      next.disputedAt = now;
      next.timerAt = addMinutes(now, timers.disputeSlaMinutes);
      break;
    case 'resolve_dispute':
      next.dispute = {
        ...(order.dispute as NonNullable<Order['dispute']>),
        resolution: command.outcome,
        note: command.note,
        resolvedBy: actor.id,
        resolvedAt: now,
      };
      if (command.outcome === 'release') {
        next.releaseTxHash = settlementHash(order, command.txHash, 'txHash', 'release');
        next.completedAt = now;
      } else {
        next.refundTxHash = settlementHash(order, command.txHash, 'txHash', 'refund');
        next.cancelledAt = now;
      }
      next.timerAt = null;
      break;
    case 'force_cancel':
      next.refundTxHash = refundHash(order, command.refundTxHash);
      next.cancelReason = command.reason;
      next.cancelledAt = now;
      next.forced = { action: 'force_cancel', reason: command.reason, by: actor.id, at: now };
      if (order.dispute !== null)
        next.dispute = { ...order.dispute, resolution: 'refund', note: command.reason, resolvedBy: actor.id, resolvedAt: now };
      next.timerAt = null;
      break;
    case 'force_complete':
      next.releaseTxHash = settlementHash(order, command.releaseTxHash, 'releaseTxHash', 'release');
      next.paymentConfirmedAt = now;
      next.completedAt = now;
      next.forced = { action: 'force_complete', reason: command.reason, by: actor.id, at: now };
      if (order.dispute !== null)
        next.dispute = { ...order.dispute, resolution: 'release', note: command.reason, resolvedBy: actor.id, resolvedAt: now };
      next.timerAt = null;
      break;
    case 'repair_complete':
      if (order.releaseTxHash === null)
        throw conflict(order, 'no release transaction is recorded on this order: there is nothing to complete it with');
      next.paymentConfirmedAt = order.paymentConfirmedAt ?? now;
      next.completedAt = now;
      next.timerAt = null;
      break;
    case 'repair_refund':
      if (order.refundTxHash === null)
        throw conflict(order, 'no refund transaction is recorded on this order: there is nothing to cancel it with');
      next.cancelledAt = now;
      next.timerAt = null;
      break;
    case 'expire':
    case 'escalate':
      if (!isDue(order, now)) throw conflict(order, `the ${order.status} deadline (${order.timerAt ?? 'none'}) has not passed`);
      if (command.action === 'expire') next.expiredAt = now;
      else {
        const reason =
          order.status === 'escrowed' ? 'payment deadline passed without payment' : 'seller did not confirm the payment in time';
        next.dispute = openDispute(reason, 'system', [], now);
        next.disputedAt = now;
      }
      // A dispute's timer is compliance's SLA (an alert, never a transition); an expired order has none.
      next.timerAt = command.action === 'escalate' ? addMinutes(now, timers.disputeSlaMinutes) : null;
      break;
  }
  next.orderVersion = order.orderVersion + 1;
  const audit = command.action === 'force_cancel' || command.action === 'force_complete' ? { reason: command.reason } : null;
  return { kind: 'transition', order: next, previousStatus: order.status, eventType: chosen.event, action: command.action, audit };
}

/** A release or refund hash in its canonical form; it can never be the escrow's own hash. */
function settlementHash(order: Order, value: string, field: string, kind: 'release' | 'refund'): string {
  const hash = canonicalTxHash(order.network, value, field);
  if (hash === order.escrowTxHash)
    throw conflict(order, `the ${kind} transaction ${hash} is the escrow's own transaction; send the hash of the ${kind} itself`);
  return hash;
}

/**
 * The refund hash a cancel records: required once crypto is locked (it says where the escrow went), refused
 * while nothing is locked.
 */
function refundHash(order: Order, value: string | undefined): string | null {
  if (order.escrowTxHash === null) {
    if (value !== undefined)
      throw new SettleError('INVALID_INPUT', 'refundTxHash must be omitted: nothing is locked in escrow for this order yet');
    return null;
  }
  if (value === undefined) {
    throw new SettleError(
      'INVALID_INPUT',
      `refundTxHash is required: crypto is locked in escrow (${order.escrowTxHash}), so cancelling must record the transaction that refunded it to the seller`,
    );
  }
  return settlementHash(order, value, 'refundTxHash', 'refund');
}

function openDispute(reason: string, openedBy: Dispute['openedBy'], evidence: string[], now: string): Dispute {
  return { reason, openedBy, evidence, openedAt: now, resolution: null, note: null, resolvedBy: null, resolvedAt: null };
}

function forbidden(order: Order, command: Command, actor: Actor): SettleError {
  const who = TRANSITIONS.filter((candidate) => candidate.action === command.action && candidate.from === order.status).map(
    (candidate) => candidate.who,
  );
  const detail =
    command.action === 'accept' && order.type === 'm2m' && sameParty(creatorOf(order), actorParty(actor))
      ? 'merchants may not accept their own M2M orders'
      : `only the ${who.join(' or ')} may ${command.action.replaceAll('_', ' ')} an order that is ${order.status}`;
  return new SettleError('FORBIDDEN', detail, { extra: { orderVersion: order.orderVersion, status: order.status } });
}
