import type { EventType } from './transitions';
import type { Actor, Order, Status } from './types';
import { recipientWallet, type ProfileWallets } from './wallet';

/** An order as its parties see it over REST: the row plus the derived fields. */
export type OrderView = Order & { minimalStatus: Status; recipientWallet: string | null };

/**
 * The order snapshot in every event (order_events, outbox, Kafka, sockets, webhooks): the view without the
 * payment details, which only the parties read, over REST.
 */
export type EventOrder = Omit<OrderView, 'paymentDetails'>;

/** The public face of an open book order: what any merchant may see before accepting. */
export interface BookSummary {
  id: string;
  orderNumber: string;
  type: Order['type'];
  network: Order['network'];
  status: Status;
  orderVersion: number;
  cryptoAmount: string;
  cryptoCurrency: string;
  fiatAmount: string;
  fiatCurrency: string;
  rate: string;
  paymentMethod: Order['paymentMethod'];
  createdAt: string;
  expiresAt: string | null;
}

/** One per transition, in order_events and in the outbox (same transaction). */
export interface OrderEvent {
  eventId: string;
  type: EventType;
  orderId: string;
  orderNumber: string;
  /** The version after the change; `(orderId, orderVersion)` is unique and orders events per order. */
  orderVersion: number;
  status: Status;
  minimalStatus: Status;
  previousStatus: Status | null;
  actor: Actor;
  occurredAt: string;
  order: EventOrder;
}

export function toView(order: Order, profileWallet: ProfileWallets): OrderView {
  return { ...order, minimalStatus: order.status, recipientWallet: recipientWallet(order, profileWallet) };
}

/** The event snapshot of a view: everything but the payment details. */
export function toEventOrder(view: OrderView): EventOrder {
  const { paymentDetails: _private, ...shared } = view;
  return shared;
}

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
