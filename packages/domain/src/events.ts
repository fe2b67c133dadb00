import type { BookSummary, EventOrder, EventType, OrderEvent, OrderView, Status } from '@settle/wire';
import type { Actor, Order } from './types';
import { recipientWallet, type ProfileWallets } from './wallet';

/** An order as its parties see it over REST: the order plus the derived fields. */
export function toView(order: Order, profileWallet: ProfileWallets): OrderView {
  return { ...order, minimalStatus: order.status, recipientWallet: recipientWallet(order, profileWallet) };
}

/** The event snapshot of a view: everything but the payment details, which only the parties read, over REST. */
export function toEventOrder(view: OrderView): EventOrder {
  const { paymentDetails: _private, ...shared } = view;
  return shared;
}

/** The public face of an open book order: what any merchant may see before accepting. */
export function toBookSummary(order: Pick<Order, keyof BookSummary>): BookSummary {
  return {
    id: order.id,
    orderNumber: order.orderNumber,
    type: order.type,
    network: order.network,
    status: order.status,
    orderVersion: order.orderVersion,
    cryptoAmount: order.cryptoAmount,
    cryptoCurrency: order.cryptoCurrency,
    fiatAmount: order.fiatAmount,
    fiatCurrency: order.fiatCurrency,
    rate: order.rate,
    paymentMethod: order.paymentMethod,
    createdAt: order.createdAt,
    expiresAt: order.expiresAt,
  };
}

/** The event of one transition, for order_events and the outbox (same transaction); the write path serialises it whole. */
export function buildEvent(input: {
  eventId: string;
  type: EventType;
  order: OrderView;
  previousStatus: Status | null;
  actor: Actor;
  occurredAt: string;
}): OrderEvent {
  return {
    eventId: input.eventId,
    type: input.type,
    orderId: input.order.id,
    orderNumber: input.order.orderNumber,
    orderVersion: input.order.orderVersion,
    status: input.order.status,
    minimalStatus: input.order.minimalStatus,
    previousStatus: input.previousStatus,
    actor: input.actor,
    occurredAt: input.occurredAt,
    order: toEventOrder(input.order),
  };
}
