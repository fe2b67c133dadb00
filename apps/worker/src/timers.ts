import { applyTransitionWith, inTransaction, type Pool } from '@settle/db';
import { isSettleError, SYSTEM_ACTOR, TIMER_ACTIONS, type Status } from '@settle/domain';

export interface SweepResult {
  fired: { expire: number; escalate: number };
  /** Due orders whose transition lost to a concurrent change (409); nothing was written for them. */
  lost: number;
}

const TIMED_STATUSES = Object.keys(TIMER_ACTIONS) as Array<keyof typeof TIMER_ACTIONS>;

/**
 * One timer sweep: locks up to `batchSize` due orders (FOR UPDATE SKIP LOCKED, so several workers share the
 * work and never block a party's request for long) and fires each through the one write path as the system.
 */
export async function sweepTimers(pool: Pool, options: { batchSize: number; now?: string }): Promise<SweepResult> {
  const now = options.now ?? new Date().toISOString();
  return inTransaction(pool, async (client) => {
    const due = await client.query<{ id: string; status: Status }>(
      `SELECT id, status FROM orders
        WHERE timer_at <= $1 AND status = ANY($2::text[])
        ORDER BY timer_at
        LIMIT $3
        FOR UPDATE SKIP LOCKED`,
      [now, TIMED_STATUSES, options.batchSize],
    );
    const result: SweepResult = { fired: { expire: 0, escalate: 0 }, lost: 0 };
    for (const order of due.rows) {
      const action = TIMER_ACTIONS[order.status as keyof typeof TIMER_ACTIONS];
      await client.query('SAVEPOINT timer');
      try {
        await applyTransitionWith(client, { orderId: order.id, command: { action }, actor: SYSTEM_ACTOR, now });
        await client.query('RELEASE SAVEPOINT timer');
        result.fired[action] += 1;
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT timer');
        if (!isSettleError(error) || error.code !== 'CONFLICT') throw error;
        result.lost += 1;
      }
    }
    return result;
  });
}

/** Disputed orders past the compliance SLA (alert only: never resolved automatically). */
export async function overdueDisputes(pool: Pool, slaMinutes: number, now: string = new Date().toISOString()): Promise<number> {
  const result = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM orders WHERE status = 'disputed' AND disputed_at <= $1::timestamptz - make_interval(mins => $2)`,
    [now, slaMinutes],
  );
  return result.rows[0]?.n ?? 0;
}
