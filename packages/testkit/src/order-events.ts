import { randomBytes, randomUUID } from 'node:crypto';
import { buildEvent, createOrder, orderNumber, toView, type OrderEvent } from '@settle/domain';

/** The buyer's wallet of orderCreatedEvent's BUY orders (a valid Tron address). */
const BUYER_WALLET = 'TYa9gFzQgP7rguMEUAL8cb2HKVosQtGPJQ';

/**
 * The order.created event of a new order that no database holds, for a test or bench that produces events to Kafka
 * itself: 100 USDT for 367.25 AED by UPI, created by user `userId` at `at`. With `merchantId`, a BUY addressed to
 * that merchant; without, a SELL on the order book.
 *
 * Also the entry `@settle/testkit/order-events`, which loads neither vitest nor the rest of testkit: for bench
 * processes that measure their own heap.
 */
export function orderCreatedEvent(userId: string, merchantId: string | undefined, at: string): OrderEvent {
  const actor = { role: 'user', id: userId } as const;
  const order = createOrder(
    {
      type: merchantId === undefined ? 'sell' : 'buy',
      ...(merchantId === undefined ? {} : { merchantId, buyerWalletAddress: BUYER_WALLET }),
      cryptoAmount: '100.00',
      cryptoCurrency: 'USDT',
      fiatAmount: '367.25',
      fiatCurrency: 'AED',
      rate: '3.6725',
      paymentMethod: 'upi',
    },
    actor,
    { id: randomUUID(), orderNumber: orderNumber(at, randomBytes(8)), now: at, profileWallet: () => null },
  );
  return buildEvent({
    eventId: randomUUID(),
    type: 'order.created',
    order: toView(order, () => null),
    previousStatus: null,
    actor,
    occurredAt: at,
  });
}
