import type { PaymentMethod } from '@settle/wire';
import type { Order } from './types';

/** Timer windows in minutes; each configurable. */
export interface TimerSettings {
  /** An open order expires this long after creation. @default 15 */
  openMinutes: number;
  /** An accepted order with no escrow expires this long after accept. @default 120 */
  acceptedMinutes: number;
  /** Payment window after escrow per method; also the length of one extension. @default cash 60, upi 60, bank_transfer 240 */
  paymentWindowMinutes: Record<PaymentMethod, number>;
  /** The seller has this long to confirm after the buyer marked paid. @default 120 */
  confirmMinutes: number;
  /** Compliance should resolve a dispute within this (alert only). @default 1440 */
  disputeSlaMinutes: number;
  /** @default 3 */
  maxExtensions: number;
}

export const DEFAULT_TIMERS: TimerSettings = {
  openMinutes: 15,
  acceptedMinutes: 120,
  paymentWindowMinutes: { cash: 60, upi: 60, bank_transfer: 240 },
  confirmMinutes: 120,
  disputeSlaMinutes: 24 * 60,
  maxExtensions: 3,
};

export function addMinutes(iso: string, minutes: number): string {
  // Rounded: configured windows may be fractions of a minute (e.g. seconds in tests).
  return new Date(Date.parse(iso) + Math.round(minutes * 60_000)).toISOString();
}

/** What the timer engine does when an order's `timerAt` passes, by status. */
export const TIMER_ACTIONS = {
  open: 'expire',
  accepted: 'expire',
  escrowed: 'escalate',
  payment_sent: 'escalate',
} as const satisfies Partial<Record<Order['status'], 'expire' | 'escalate'>>;

/** Whether the deadline of the order's current status has passed at `now`. */
export function isDue(order: Pick<Order, 'timerAt'>, now: string): boolean {
  return order.timerAt !== null && Date.parse(order.timerAt) <= Date.parse(now);
}

/** Whether a disputed order has waited longer than the compliance SLA (alert only, never a transition). */
export function disputeOverdue(
  order: Pick<Order, 'status' | 'disputedAt'>,
  now: string,
  settings: TimerSettings = DEFAULT_TIMERS,
): boolean {
  return (
    order.status === 'disputed' &&
    order.disputedAt !== null &&
    Date.parse(addMinutes(order.disputedAt, settings.disputeSlaMinutes)) <= Date.parse(now)
  );
}
