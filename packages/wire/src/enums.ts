import { z } from './zod';

export const ORDER_TYPES = ['buy', 'sell', 'm2m'] as const;
export const orderType = z.enum(ORDER_TYPES);
export type OrderType = z.infer<typeof orderType>;

export const STATUSES = ['open', 'accepted', 'escrowed', 'payment_sent', 'completed', 'cancelled', 'expired', 'disputed'] as const;
export const status = z.enum(STATUSES);
export type Status = z.infer<typeof status>;

export const PAYMENT_METHODS = ['bank_transfer', 'upi', 'cash'] as const;
export const paymentMethod = z.enum(PAYMENT_METHODS);
export type PaymentMethod = z.infer<typeof paymentMethod>;

export const ROLES = ['user', 'merchant', 'compliance'] as const;
export const role = z.enum(ROLES);
export type Role = z.infer<typeof role>;

export const PARTY_KINDS = ['user', 'merchant'] as const;
export const partyKind = z.enum(PARTY_KINDS);
export type PartyKind = z.infer<typeof partyKind>;

/** The networks an order's escrow can live on. EVM chains share one address and hash form. */
export const NETWORKS = ['ethereum', 'bsc', 'polygon', 'tron'] as const;
/** The chain an order's escrow lives on. */
export const network = z.enum(NETWORKS).openapi({ description: 'EVM: ethereum, bsc, polygon; or tron' });
export type Network = z.infer<typeof network>;

/** One event type per kind of transition (the state machine's table names which one each rule emits). */
export const EVENT_TYPES = [
  'order.created',
  'order.accepted',
  'order.escrow_locked',
  'order.payment_sent',
  'order.completed',
  'order.cancelled',
  'order.expired',
  'order.disputed',
  'order.dispute_resolved',
  'order.cancel_requested',
  'order.extension_requested',
  'order.extension_granted',
] as const;
export const eventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof eventType>;
