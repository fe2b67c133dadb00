import { applyTransitionWith, inTransaction, type Pool } from '@settle/db';
import { isSettleError, SYSTEM_ACTOR, TIMER_ACTIONS, type OrderPolicy, type Status } from '@settle/domain';
import { idOnlyTracing, type Tracing } from '@settle/observability';

export interface SweepResult {
  fired: { expire: number; escalate: number };
  /** Due orders whose transition lost to a concurrent change (409); nothing was written for them. */
  lost: number;
}

/**
 * One timer sweep: locks up to `batchSize` due orders (FOR UPDATE SKIP LOCKED, so several workers share the
 * work and never block a party's request for long) and fires each through the one write path as the system, each
 * in a trace of its own (its traceparent goes out with the event).
 */
export async function sweepTimers(
  pool: Pool,
  options: { batchSize: number; now?: string; policy?: OrderPolicy; tracing?: Tracing },
): Promise<SweepResult> {
  const tracing = options.tracing ?? idOnlyTracing;
  const now = options.now ?? new Date().toISOString();
  return inTransaction(pool, async (client) => {
    // The status list is literal (TIMER_ACTIONS' keys) so the planner can use orders_timer_idx, whose predicate it is.
    const due = await client.query<{ id: string; status: Status }>(
      `SELECT id, status FROM orders
        WHERE timer_at <= $1 AND timer_at IS NOT NULL AND status IN ('open', 'accepted', 'escrowed', 'payment_sent')
        ORDER BY timer_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [now, options.batchSize],
    );
    const result: SweepResult = { fired: { expire: 0, escalate: 0 }, lost: 0 };
    for (const order of due.rows) {
      const action = TIMER_ACTIONS[order.status as keyof typeof TIMER_ACTIONS];
      const span = tracing.startSpan(`timer ${action}`, { attributes: { 'settle.order_id': order.id } });
      await client.query('SAVEPOINT timer');
      try {
        await applyTransitionWith(client, {
          orderId: order.id,
          command: { action },
          actor: SYSTEM_ACTOR,
          now,
          policy: options.policy,
          traceparent: span.traceparent,
        });
        await client.query('RELEASE SAVEPOINT timer');
        result.fired[action] += 1;
        span.end();
      } catch (error) {
        span.end(error);
        await client.query('ROLLBACK TO SAVEPOINT timer');
        if (!isSettleError(error) || error.code !== 'CONFLICT') throw error;
        result.lost += 1;
      }
    }
    return result;
  });
}

/** Disputed orders past their compliance SLA deadline (timer_at; alert only: never resolved automatically). */
export async function overdueDisputes(pool: Pool, now: string = new Date().toISOString()): Promise<number> {
  const result = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status = 'disputed' AND timer_at <= $1`, [
    now,
  ]);
  return result.rows[0]?.n ?? 0;
}
