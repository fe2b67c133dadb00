import { addMinutes, TIMER_ACTIONS } from './timers';
import type { Command } from './transitions';
import type { Order } from './types';

/** Ways an order's state and its evidence disagree. */
export const STUCK_KINDS = ['release_recorded', 'refund_recorded', 'timer_overdue'] as const;
export type StuckKind = (typeof STUCK_KINDS)[number];

export interface StuckOrder {
  kind: StuckKind;
  /** What is wrong, for a person. */
  detail: string;
  /** The transition that repairs it, run by the system through the one write path. */
  command: Command;
}

/** A deadline this long past with no timer firing means the timer engine missed it. @default 5 */
export const TIMER_GRACE_MINUTES = 5;

const LOCKED = new Set<Order['status']>(['escrowed', 'payment_sent', 'disputed']);

/**
 * Whether an order is stuck, and the repair: a release hash recorded on an order that is not completed (the old
 * system's two-step release failing in between), a refund hash on an order still holding its escrow, or a
 * deadline long past that no timer handled. Pure: the reconciler and `settle-ops repair` both call it.
 */
export function diagnose(order: Order, now: string, graceMinutes = TIMER_GRACE_MINUTES): StuckOrder | null {
  if (order.releaseTxHash !== null && LOCKED.has(order.status)) {
    return {
      kind: 'release_recorded',
      detail: `release ${order.releaseTxHash} is recorded but the order is ${order.status}`,
      command: { action: 'repair_complete' },
    };
  }
  if (order.refundTxHash !== null && LOCKED.has(order.status)) {
    return {
      kind: 'refund_recorded',
      detail: `refund ${order.refundTxHash} is recorded but the order is ${order.status}`,
      command: { action: 'repair_refund' },
    };
  }
  const action = TIMER_ACTIONS[order.status as keyof typeof TIMER_ACTIONS] as
    (typeof TIMER_ACTIONS)[keyof typeof TIMER_ACTIONS] | undefined;
  if (action !== undefined && order.timerAt !== null && Date.parse(addMinutes(order.timerAt, graceMinutes)) <= Date.parse(now)) {
    return {
      kind: 'timer_overdue',
      detail: `the ${order.status} deadline passed at ${order.timerAt} and no timer fired`,
      command: { action },
    };
  }
  return null;
}
