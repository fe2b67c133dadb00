import type { Party } from '@settle/wire';
import type { Actor, Order } from './types';

/** Parties are equal when kind and id match. */
export function sameParty(a: Party | null | undefined, b: Party | null | undefined): boolean {
  return a != null && b != null && a.kind === b.kind && a.id === b.id;
}

/** The party an actor acts as (users and merchants); compliance and system are never parties. */
export function actorParty(actor: Actor): Party | null {
  return actor.role === 'user' || actor.role === 'merchant' ? { kind: actor.role, id: actor.id } : null;
}

/** The party that created the order: the user for BUY/SELL, the selling merchant for M2M. */
export function creatorOf(order: Pick<Order, 'type' | 'userId' | 'merchantId'>): Party {
  if (order.type === 'm2m') return { kind: 'merchant', id: order.merchantId ?? '' };
  return { kind: 'user', id: order.userId ?? '' };
}

/** The merchant on the other side from the creator; null while a book order waits for an accept. */
export function counterpartyOf(order: Pick<Order, 'type' | 'merchantId' | 'buyerMerchantId'>): Party | null {
  const id = order.type === 'm2m' ? order.buyerMerchantId : order.merchantId;
  return id === null ? null : { kind: 'merchant', id };
}

/**
 * The seller locks crypto; the buyer sends fiat.
 * BUY: merchant sells to the user. SELL: the user sells to the merchant. M2M: `merchantId` sells to `buyerMerchantId`.
 */
export function sides(order: Pick<Order, 'type' | 'userId' | 'merchantId' | 'buyerMerchantId'>): {
  seller: Party | null;
  buyer: Party | null;
} {
  const merchant: Party | null = order.merchantId === null ? null : { kind: 'merchant', id: order.merchantId };
  const user: Party | null = order.userId === null ? null : { kind: 'user', id: order.userId };
  switch (order.type) {
    case 'buy':
      return { seller: merchant, buyer: user };
    case 'sell':
      return { seller: user, buyer: merchant };
    case 'm2m':
      return { seller: merchant, buyer: order.buyerMerchantId === null ? null : { kind: 'merchant', id: order.buyerMerchantId } };
  }
}

/** The parties of an order known so far (creator and, once known, the counterparty). */
export function partiesOf(order: Pick<Order, 'type' | 'userId' | 'merchantId' | 'buyerMerchantId'>): Party[] {
  const counterparty = counterpartyOf(order);
  return counterparty === null ? [creatorOf(order)] : [creatorOf(order), counterparty];
}

/** Whether the actor is one of the order's parties. */
export function isParty(order: Pick<Order, 'type' | 'userId' | 'merchantId' | 'buyerMerchantId'>, actor: Actor): boolean {
  const party = actorParty(actor);
  return party !== null && partiesOf(order).some((candidate) => sameParty(candidate, party));
}

/**
 * Whether the actor may see the order at all: its parties, compliance, the system, and any merchant while a
 * book order is open. Everyone else is told the order does not exist (404), never that it is someone else's.
 */
export function canSee(order: Order, actor: Actor): boolean {
  if (actor.role === 'system' || actor.role === 'compliance') return true;
  if (isParty(order, actor)) return true;
  return actor.role === 'merchant' && order.bookOrder && order.status === 'open';
}
