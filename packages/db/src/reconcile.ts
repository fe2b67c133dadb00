import { diagnose, TIMER_GRACE_MINUTES, type Order, type StuckOrder } from '@settle/domain';
import { orderFromRow, type OrderRow } from './orders/rows';
import type { Queryable } from './pool';

export interface StuckFinding extends StuckOrder {
  order: Order;
}

/**
 * Orders whose state and evidence disagree (see domain `diagnose`): a release or refund hash on a locked order, or
 * a timed status whose deadline passed more than the grace ago. Each branch reads its own partial index.
 */
export async function findStuckOrders(
  db: Queryable,
  options: { now?: string | undefined; orderId?: string | undefined; limit?: number | undefined; graceMinutes?: number | undefined } = {},
): Promise<StuckFinding[]> {
  const now = options.now ?? new Date().toISOString();
  const grace = options.graceMinutes ?? TIMER_GRACE_MINUTES;
  const limit = options.limit ?? 1000;
  const result = await db.query<OrderRow>(
    `SELECT * FROM (
       (SELECT * FROM orders WHERE release_tx_hash IS NOT NULL AND status IN ('escrowed', 'payment_sent', 'disputed') AND ($4::uuid IS NULL OR id = $4) LIMIT $3)
       UNION
       (SELECT * FROM orders WHERE refund_tx_hash IS NOT NULL AND status IN ('escrowed', 'payment_sent', 'disputed') AND ($4::uuid IS NULL OR id = $4) LIMIT $3)
       UNION
       (SELECT * FROM orders WHERE timer_at IS NOT NULL AND status IN ('open', 'accepted', 'escrowed', 'payment_sent')
          AND timer_at <= $1::timestamptz - make_interval(mins => $2) AND ($4::uuid IS NULL OR id = $4) ORDER BY timer_at LIMIT $3)
     ) stuck ORDER BY created_at, id LIMIT $3`,
    [now, grace, limit, options.orderId ?? null],
  );
  return result.rows.flatMap((row) => {
    const order = orderFromRow(row);
    const found = diagnose(order, now, grace);
    return found === null ? [] : [{ ...found, order }];
  });
}
