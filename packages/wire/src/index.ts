/**
 * The wire shapes the domain builds and every other part reads: the order view, the event's order snapshot, the book
 * summary, the order event and the closed value lists they use, as zod schemas (with their OpenAPI names) and the
 * types inferred from them. A field is added here once: the domain must then build it (or fail to compile), and the
 * OpenAPI, AsyncAPI and JSON Schema documents generated in @settle/contracts show it.
 */
export { z } from './zod';
export {
  EVENT_TYPES,
  eventType,
  network,
  NETWORKS,
  ORDER_TYPES,
  orderType,
  PARTY_KINDS,
  partyKind,
  PAYMENT_METHODS,
  paymentMethod,
  role,
  ROLES,
  status,
  STATUSES,
} from './enums';
export type { EventType, Network, OrderType, PartyKind, PaymentMethod, Role, Status } from './enums';
export { isoTime, uuid } from './scalars';
export { actor, bookSummary, disputeSchema, eventOrderView, forcedSchema, orderEvent, orderView, party } from './order';
export type { BookSummary, Dispute, EventOrder, Forced, OrderEvent, OrderView, Party, WireActor } from './order';
