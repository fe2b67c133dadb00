import { describe, expect, it } from 'vitest';
import {
  decide,
  SettleError,
  STATUSES,
  type Action,
  type Actor,
  type Command,
  type Order,
  type OrderType,
  type Status,
} from '../src/index';
import {
  ACCEPTOR_WALLET,
  asParty,
  CAST,
  COMPLIANCE,
  hash,
  NOW,
  noProfileWallets,
  orderIn,
  STRANGER_MERCHANT,
  STRANGER_USER,
  SYSTEM,
} from './fixtures';

type Role = 'creator' | 'counterparty' | 'seller' | 'buyer' | 'compliance' | 'system';

/** DOMAIN.md's transition table, written out independently of the implementation's. */
const SPEC: Array<{ action: Action; from: Status; to: Status; who: Role[] }> = [
  { action: 'accept', from: 'open', to: 'accepted', who: ['counterparty'] },
  { action: 'lock_escrow', from: 'accepted', to: 'escrowed', who: ['seller'] },
  { action: 'mark_paid', from: 'escrowed', to: 'payment_sent', who: ['buyer'] },
  { action: 'confirm_and_release', from: 'payment_sent', to: 'completed', who: ['seller'] },
  { action: 'cancel', from: 'open', to: 'cancelled', who: ['creator'] },
  { action: 'cancel', from: 'accepted', to: 'cancelled', who: ['creator', 'counterparty'] },
  { action: 'cancel', from: 'escrowed', to: 'cancelled', who: ['buyer'] },
  { action: 'request_cancel', from: 'escrowed', to: 'escrowed', who: ['creator', 'counterparty'] },
  { action: 'request_cancel', from: 'payment_sent', to: 'payment_sent', who: ['creator', 'counterparty'] },
  { action: 'agree_cancel', from: 'escrowed', to: 'cancelled', who: ['creator', 'counterparty'] },
  { action: 'agree_cancel', from: 'payment_sent', to: 'cancelled', who: ['creator', 'counterparty'] },
  { action: 'request_extension', from: 'escrowed', to: 'escrowed', who: ['creator', 'counterparty'] },
  { action: 'agree_extension', from: 'escrowed', to: 'escrowed', who: ['creator', 'counterparty'] },
  { action: 'dispute', from: 'escrowed', to: 'disputed', who: ['creator', 'counterparty'] },
  { action: 'dispute', from: 'payment_sent', to: 'disputed', who: ['creator', 'counterparty'] },
  { action: 'resolve_dispute', from: 'disputed', to: 'completed', who: ['compliance'] },
  { action: 'expire', from: 'open', to: 'expired', who: ['system'] },
  { action: 'expire', from: 'accepted', to: 'expired', who: ['system'] },
  { action: 'escalate', from: 'escrowed', to: 'disputed', who: ['system'] },
  { action: 'escalate', from: 'payment_sent', to: 'disputed', who: ['system'] },
  ...(['open', 'accepted', 'escrowed', 'payment_sent', 'disputed'] as const).flatMap((from) => [
    { action: 'force_cancel' as const, from, to: 'cancelled' as const, who: ['compliance' as const] },
    { action: 'force_complete' as const, from, to: 'completed' as const, who: ['compliance' as const] },
  ]),
  ...(['escrowed', 'payment_sent', 'disputed'] as const).flatMap((from) => [
    { action: 'repair_complete' as const, from, to: 'completed' as const, who: ['system' as const] },
    { action: 'repair_refund' as const, from, to: 'cancelled' as const, who: ['system' as const] },
  ]),
];

const COMMANDS: Record<Action, Command> = {
  accept: { action: 'accept', walletAddress: ACCEPTOR_WALLET },
  lock_escrow: { action: 'lock_escrow', txHash: hash('other-hash') },
  mark_paid: { action: 'mark_paid', paymentReference: 'UTR123' },
  confirm_and_release: { action: 'confirm_and_release', txHash: hash('release') },
  cancel: { action: 'cancel', reason: 'changed my mind' },
  request_cancel: { action: 'request_cancel', reason: 'bank holiday' },
  agree_cancel: { action: 'agree_cancel', refundTxHash: hash('refund') },
  request_extension: { action: 'request_extension' },
  agree_extension: { action: 'agree_extension' },
  dispute: { action: 'dispute', reason: 'fiat never arrived' },
  resolve_dispute: { action: 'resolve_dispute', outcome: 'release', txHash: hash('resolve'), note: 'bank statement checked' },
  force_cancel: { action: 'force_cancel', reason: 'sanctions hit' },
  force_complete: { action: 'force_complete', reason: 'release seen on chain', releaseTxHash: hash('forced-release') },
  repair_complete: { action: 'repair_complete' },
  repair_refund: { action: 'repair_refund' },
  expire: { action: 'expire' },
  escalate: { action: 'escalate' },
};

/** The command as the order needs it: once crypto is locked, every cancel carries the refund's hash. */
function commandFor(action: Action, order: Order): Command {
  const command = COMMANDS[action];
  const locked = order.escrowTxHash !== null;
  if (locked && (command.action === 'cancel' || command.action === 'force_cancel')) return { ...command, refundTxHash: hash('refund') };
  return command;
}

const ACTOR_NAMES = ['creator', 'counterparty', 'strangerUser', 'strangerMerchant', 'compliance', 'system'] as const;

function actorFor(type: OrderType, name: (typeof ACTOR_NAMES)[number]): Actor {
  switch (name) {
    case 'creator':
    case 'counterparty':
      return CAST[type][name];
    case 'strangerUser':
      return STRANGER_USER;
    case 'strangerMerchant':
      return STRANGER_MERCHANT;
    case 'compliance':
      return COMPLIANCE;
    case 'system':
      return SYSTEM;
  }
}

/** seller/buyer in terms of creator/counterparty, per DOMAIN.md "Sides of a trade". */
function plays(type: OrderType, name: (typeof ACTOR_NAMES)[number]): Role[] {
  if (name === 'compliance' || name === 'system') return [name];
  if (name !== 'creator' && name !== 'counterparty') return [];
  const sellerIsCreator = type !== 'buy';
  const side = (name === 'creator') === sellerIsCreator ? 'seller' : 'buyer';
  return [name, side];
}

/** Sets up the preconditions an allowed cell needs (due timers, a pending request from the other side). */
function prepared(order: Order, action: Action, actor: Actor, type: OrderType): Order {
  const other = actor === CAST[type].creator ? CAST[type].counterparty : CAST[type].creator;
  const isParty = actor === CAST[type].creator || actor === CAST[type].counterparty;
  if (action === 'expire' || action === 'escalate') return { ...order, timerAt: '2026-11-25T09:00:00.000Z' };
  // A repair needs the evidence an import from the old system left on the order.
  if (action === 'repair_complete') return { ...order, releaseTxHash: hash('imported-release') };
  if (action === 'repair_refund') return { ...order, refundTxHash: hash('imported-refund') };
  if (action === 'agree_cancel' && isParty) return { ...order, cancelRequestedBy: asParty(other) };
  if (action === 'agree_extension' && isParty) return { ...order, extensionRequestedBy: asParty(other) };
  return order;
}

function outcome(run: () => unknown): string {
  try {
    const decision = run() as { kind: string; order: Order };
    return decision.kind === 'transition' ? `-> ${decision.order.status}` : 'unchanged';
  } catch (error) {
    if (error instanceof SettleError) return String(error.status);
    throw error;
  }
}

describe('the transition table, every (action × status × actor) cell', () => {
  for (const type of ['buy', 'sell', 'm2m'] as const) {
    for (const status of STATUSES) {
      const base = orderIn(type, status);
      for (const action of Object.keys(COMMANDS) as Action[]) {
        it(`${type} ${status} ${action}`, () => {
          for (const name of ACTOR_NAMES) {
            const actor = actorFor(type, name);
            const visible = !name.startsWith('stranger');
            const rules = SPEC.filter((spec) => spec.action === action && spec.from === status);
            const allowed = rules.find((spec) => spec.who.some((role) => plays(type, name).includes(role)));
            const expected = !visible ? '404' : rules.length === 0 ? '409' : allowed === undefined ? '403' : `-> ${allowed.to}`;
            const order = prepared(base, action, actor, type);
            const got = outcome(() => decide(order, commandFor(action, order), actor, { now: NOW, profileWallet: noProfileWallets }));
            expect({ actor: name, result: got }).toEqual({ actor: name, result: expected });
          }
        });
      }
    }
  }
});

describe('rejections change nothing and say why', () => {
  it('a rejected command leaves the order object untouched', () => {
    const order = orderIn('buy', 'completed');
    const snapshot = structuredClone(order);
    expect(() => decide(order, COMMANDS.confirm_and_release, CAST.buy.counterparty, { now: NOW, profileWallet: noProfileWallets })).toThrow(
      SettleError,
    );
    expect(order).toEqual(snapshot);
  });

  it('a second release answers 409 with the current version and status', () => {
    const order = orderIn('sell', 'completed');
    try {
      decide(order, COMMANDS.confirm_and_release, CAST.sell.creator, { now: NOW, profileWallet: noProfileWallets });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SettleError);
      const settle = error as SettleError;
      expect(settle.status).toBe(409);
      expect(settle.message).toBe('cannot confirm and release an order that is completed');
      expect(settle.extra).toEqual({ orderVersion: order.orderVersion, status: 'completed' });
    }
  });

  it('the seller alone can never cancel after escrow (403 naming who may)', () => {
    const order = orderIn('buy', 'escrowed');
    expect(() => decide(order, COMMANDS.cancel, CAST.buy.counterparty, { now: NOW, profileWallet: noProfileWallets })).toThrow(
      'only the buyer may cancel an order that is escrowed',
    );
  });
});
