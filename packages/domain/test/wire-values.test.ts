import { randomUUID } from 'node:crypto';
import { bookSummary, eventOrderView, orderEvent, orderView } from '@settle/wire';
import { describe, expect, it } from 'vitest';
import {
  buildEvent,
  decide,
  toBookSummary,
  toView,
  type Actor,
  type Command,
  type Order,
  type OrderEvent,
  type OrderType,
} from '../src/index';
import { ACCEPTOR_WALLET, CAST, COMPLIANCE, hash, newOrder, NOW, noProfileWallets } from './fixtures';

/** The events of `type`'s order walked through `steps` from its creation, as the write path builds them. */
function eventsOf(type: OrderType, steps: (parties: { seller: Actor; buyer: Actor }) => Array<[Command, Actor]>): OrderEvent[] {
  const { creator, counterparty } = CAST[type];
  const parties = type === 'buy' ? { seller: counterparty, buyer: creator } : { seller: creator, buyer: counterparty };
  let order: Order = { ...newOrder(type), id: randomUUID() };
  const created = buildEvent({
    eventId: randomUUID(),
    type: 'order.created',
    order: toView(order, noProfileWallets),
    previousStatus: null,
    actor: creator,
    occurredAt: NOW,
  });
  const events = [created];
  for (const [command, actor] of steps(parties)) {
    const decision = decide(order, command, actor, { now: NOW, profileWallet: noProfileWallets });
    if (decision.kind !== 'transition') throw new Error(`${command.action} did not transition`);
    order = decision.order;
    const view = toView(order, noProfileWallets);
    events.push(
      buildEvent({
        eventId: randomUUID(),
        type: decision.eventType,
        order: view,
        previousStatus: decision.previousStatus,
        actor,
        occurredAt: NOW,
      }),
    );
  }
  return events;
}

const accept = (counterparty: Actor): [Command, Actor] => [{ action: 'accept', walletAddress: ACCEPTOR_WALLET }, counterparty];
const lock = (seller: Actor, label: string): [Command, Actor] => [{ action: 'lock_escrow', txHash: hash(`escrow-${label}`) }, seller];

const WALKS: Record<string, () => OrderEvent[]> = {
  'a buy order released after a dispute': () =>
    eventsOf('buy', ({ seller, buyer }) => [
      accept(seller),
      lock(seller, 'disputed-buy'),
      [{ action: 'mark_paid', paymentReference: 'ref-1' }, buyer],
      [{ action: 'dispute', reason: 'no payment seen', evidence: ['statement.pdf'] }, seller],
      [{ action: 'resolve_dispute', outcome: 'release', txHash: hash('release-disputed-buy'), note: 'payment proven' }, COMPLIANCE],
    ]),
  'a sell order force-cancelled by compliance': () =>
    eventsOf('sell', ({ seller, buyer }) => [
      accept(buyer),
      lock(seller, 'forced-sell'),
      [{ action: 'request_extension' }, buyer],
      [{ action: 'force_cancel', reason: 'sanctions hit', refundTxHash: hash('refund-forced-sell') }, COMPLIANCE],
    ]),
  'an m2m order completed': () =>
    eventsOf('m2m', ({ seller, buyer }) => [
      accept(buyer),
      lock(seller, 'm2m'),
      [{ action: 'mark_paid' }, buyer],
      [{ action: 'confirm_and_release', txHash: hash('release-m2m') }, seller],
    ]),
};

describe('the values the domain builds parse unchanged with the wire schemas', () => {
  for (const [walk, events] of Object.entries(WALKS)) {
    it(`every event of ${walk} parses as an order event, unchanged (no field missing, extra or of another shape)`, () => {
      for (const event of events()) expect(orderEvent.parse(event)).toEqual(event);
    });
  }

  it('the walks fill the nested values a new order leaves null (dispute, force action, parties, extension request)', () => {
    const orders = Object.values(WALKS).flatMap((walk) => walk().map((event) => event.order));
    for (const field of ['dispute', 'forced', 'seller', 'buyer', 'escrowFunder', 'extensionRequestedBy'] as const) {
      expect(orders.some((order) => order[field] !== null)).toBe(true);
    }
  });

  it('an event carries the order view without its payment details, and the view itself keeps them', () => {
    const [created] = WALKS['a buy order released after a dispute']!();
    const view = { ...created!.order, paymentDetails: { iban: 'AE07 0331 2345 6789 0123 456' } };
    expect(orderView.parse(view)).toEqual(view);
    expect(eventOrderView.parse(view)).toEqual(created!.order);
    expect(created!.order).not.toHaveProperty('paymentDetails');
  });

  it('a book summary parses as the published book order, unchanged', () => {
    const order = { ...newOrder('sell', { book: true }), id: randomUUID() };
    const summary = toBookSummary(order);
    expect(bookSummary.parse(summary)).toEqual(summary);
  });
});
