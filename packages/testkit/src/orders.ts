import { applyTransition, createOrderRecord, upsertAccount, type Pool } from '@settle/db';
import type { Actor, Command, CreateOrderInput, OrderPolicy, OrderView, Status } from '@settle/domain';
import { testAddress, testTxHash } from './chain-fixtures';

/** How far `walkSellOrder` takes an order: each status a SELL order passes through on its way to completed. */
export type SellOrderStage = Extract<Status, 'open' | 'accepted' | 'escrowed' | 'payment_sent' | 'completed'>;

export interface SellOrderWalk {
  /** The seller: creates the order, locks the escrow, releases. */
  user: Actor;
  /** The buyer: an account is made for it when missing; it accepts and marks the fiat paid. */
  merchant: Actor;
  /** Makes the order's wallet and tx hashes its own (testAddress / testTxHash of `<label>-…`). */
  label: string;
  /** @default 'completed' */
  until?: SellOrderStage | undefined;
  /** Overrides of the created order (amounts, payment method, payment details). @default 100 USDT for 367.25 AED by UPI */
  order?: Partial<CreateOrderInput>;
  /** The buyer's payment reference on mark_paid. */
  paymentReference?: string;
  /** The time every step is written at. @default now */
  now?: string | undefined;
  /** Walk this order on from its status instead of creating one. */
  from?: OrderView | undefined;
  /** The order rules every step is written under (deadlines per payment method). @default the write path's defaults */
  policy?: OrderPolicy | undefined;
}

/**
 * A SELL order created and walked through the one write path (createOrderRecord, then applyTransition as each
 * party would act) up to `until`. Returns the order after each step, the created (or `from`) one first.
 */
export async function walkSellOrder(pool: Pool, walk: SellOrderWalk): Promise<OrderView[]> {
  const { user, merchant, label } = walk;
  await upsertAccount(pool, { kind: 'merchant', id: merchant.id });
  const input: CreateOrderInput = {
    type: 'sell',
    merchantId: merchant.id,
    cryptoAmount: '100',
    cryptoCurrency: 'USDT',
    fiatAmount: '367.25',
    fiatCurrency: 'AED',
    rate: '3.6725',
    paymentMethod: 'upi',
    ...walk.order,
  };
  let start = walk.from;
  if (start === undefined) {
    const created = await createOrderRecord(pool, input, user, { now: walk.now, policy: walk.policy });
    if (created.kind !== 'applied') throw new Error(`the order was not created (${created.kind})`);
    start = created.order;
  }
  const order = start;
  const steps: Array<[SellOrderStage, Command, Actor]> = [
    ['accepted', { action: 'accept', walletAddress: testAddress(`${label}-merchant`) }, merchant],
    ['escrowed', { action: 'lock_escrow', txHash: testTxHash(`${label}-escrow`) }, user],
    [
      'payment_sent',
      { action: 'mark_paid', ...(walk.paymentReference !== undefined ? { paymentReference: walk.paymentReference } : {}) },
      merchant,
    ],
    ['completed', { action: 'confirm_and_release', txHash: testTxHash(`${label}-release`) }, user],
  ];
  const views = [order];
  const until = walk.until ?? 'completed';
  if (until === order.status) return views;
  const next = steps.findIndex(([stage]) => stage === order.status) + 1;
  for (const [reached, command, actor] of steps.slice(next)) {
    const result = await applyTransition(pool, { orderId: order.id, command, actor, now: walk.now, policy: walk.policy });
    if (result.kind !== 'applied') throw new Error(`${command.action} was not applied (${result.kind})`);
    views.push(result.order);
    if (reached === until) break;
  }
  return views;
}

/** A POST /v1/orders body: a BUY of 100 USDT for 367.25 AED from `merchantId`, the buyer's wallet named by `label`. */
export const buyOrderBody = (merchantId: string, label: string) => ({
  type: 'buy',
  merchantId,
  cryptoAmount: '100.00',
  fiatAmount: '367.25',
  fiatCurrency: 'AED',
  rate: '3.6725',
  paymentMethod: 'bank_transfer',
  buyerWalletAddress: testAddress(`${label}-buyer-${merchantId}`),
});
