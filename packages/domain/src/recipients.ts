import type { OrderEvent, Party } from '@settle/wire';
import { partiesOf } from './sides';

/** A private recipient of notifications: a user, a merchant, or the compliance desk. */
export type Recipient = Party | { kind: 'compliance'; id: 'compliance' };

export interface Audience {
  /** Emit once to the merchants' order book room (public summary; never stored per merchant). */
  book: boolean;
  /** Stored per recipient and replayed by sequence. */
  recipients: Recipient[];
}

const DISPUTE_EVENTS: ReadonlySet<OrderEvent['type']> = new Set(['order.disputed', 'order.dispute_resolved']);

/**
 * Who is told of an event (DOMAIN.md "Who is told"): a book order's creation and its leaving the book go to the
 * book (public summary) plus the parties; everything else goes to the parties, and disputes to compliance too.
 * A merchant never receives another merchant's private events.
 */
export function audienceOf(event: Pick<OrderEvent, 'type' | 'previousStatus' | 'order'>): Audience {
  const order = event.order;
  const recipients: Recipient[] = partiesOf(order);
  if (DISPUTE_EVENTS.has(event.type)) recipients.push({ kind: 'compliance', id: 'compliance' });
  const enteringBook = event.type === 'order.created' && order.bookOrder;
  const leavingBook = order.bookOrder && event.previousStatus === 'open' && event.type !== 'order.created';
  return { book: enteringBook || leavingBook, recipients };
}

/** A stable key for a recipient, e.g. `merchant:m-1`, `user:u-1`, `compliance:compliance`. */
export function recipientKey(recipient: Recipient): string {
  return `${recipient.kind}:${recipient.id}`;
}
