// The wire values the domain builds (order view, event, book summary) and the closed lists they use are defined once,
// as zod schemas in @settle/wire; their types are re-exported here so the domain's importers read them from it.
export { EVENT_TYPES, NETWORKS, ORDER_TYPES, PARTY_KINDS, PAYMENT_METHODS, ROLES, STATUSES } from '@settle/wire';
export type {
  BookSummary,
  Dispute,
  EventOrder,
  EventType,
  Forced,
  Network,
  OrderEvent,
  OrderType,
  OrderView,
  Party,
  PartyKind,
  PaymentMethod,
  Role,
  Status,
} from '@settle/wire';
export { createOrder, CREATOR_ROLE, networkOf, orderNumber } from './create';
export type { CreateContext, CreateOrderInput } from './create';
export { errorStatus, isSettleError, SettleError } from './errors';
export type { ErrorCode, SettleErrorOptions } from './errors';
export { assertAmountsAddUp, fiatMinorUnits } from './amounts';
export { addressForm, canonicalAddress, canonicalTxHash, isEvm, txHashForm } from './chains';
export { buildEvent, toBookSummary, toEventOrder, toView } from './events';
export { DEFAULT_POLICY } from './policy';
export { diagnose, STUCK_KINDS, TIMER_GRACE_MINUTES } from './reconcile';
export type { StuckKind, StuckOrder } from './reconcile';
export type { OrderPolicy } from './policy';
export { audienceOf, recipientKey } from './recipients';
export type { Audience, Recipient } from './recipients';
export { actorParty, canSee, counterpartyOf, creatorOf, isParty, partiesOf, sameParty, sides } from './sides';
export { LEGACY_STATUS_ALIASES, minimalStatus } from './status';
export { addMinutes, DEFAULT_TIMERS, disputeOverdue, isDue, TIMER_ACTIONS } from './timers';
export type { TimerSettings } from './timers';
export { assertVisible, decide, fits, TRANSITIONS } from './transitions';
export type { Action, Command, Decision, DecideContext, TransitionRule, Who } from './transitions';
export { SYSTEM_ACTOR, TERMINAL_STATUSES } from './types';
export type { Actor, Order } from './types';
export { recipientWallet } from './wallet';
export type { ProfileWallets } from './wallet';
