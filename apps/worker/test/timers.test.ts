import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { applyTransition, createPool, type Pool } from '@settle/db';
import { isSettleError, SYSTEM_ACTOR, type Actor, type OrderView } from '@settle/domain';
import { parseTraceparent } from '@settle/observability';
import { useTestDatabase, testAddress, walkSellOrder } from '@settle/testkit';
import { applyRetention, overdueDisputes, sweepTimers } from '../src/index';

const database = useTestDatabase('worker', { max: 20 });

const minutesAgo = (minutes: number): string => new Date(Date.now() - minutes * 60_000).toISOString();
let counter = 0;

/** A SELL order created `minutesAgo` and walked to `status` at that time, so its timer is already due. */
async function dueOrder(
  status: 'open' | 'accepted' | 'escrowed' | 'payment_sent',
  at: string = minutesAgo(600),
): Promise<{ order: OrderView; user: Actor; merchant: Actor }> {
  counter += 1;
  const user: Actor = { role: 'user', id: `u-w${counter}` };
  const merchant: Actor = { role: 'merchant', id: `m-w${counter}` };
  const walked = await walkSellOrder(database.pool, {
    user,
    merchant,
    label: `worker-${counter}`,
    until: status,
    order: { cryptoAmount: '10', fiatAmount: '36.7', rate: '3.67' },
    now: at,
  });
  return { order: walked.at(-1)!, user, merchant };
}

async function eventsOf(orderId: string): Promise<Array<{ type: string; actor_role: string }>> {
  return (await database.pool.query(`SELECT type, actor_role FROM order_events WHERE order_id = $1 ORDER BY order_version`, [orderId]))
    .rows;
}

describe('the timer engine', () => {
  it('expires due open and accepted orders and escalates due escrowed and payment_sent orders to disputes, as the system', async () => {
    const open = await dueOrder('open');
    const accepted = await dueOrder('accepted');
    const escrowed = await dueOrder('escrowed');
    const paid = await dueOrder('payment_sent');
    const fresh = await dueOrder('open', new Date().toISOString());

    let fired = { expire: 0, escalate: 0 };
    for (let round = 0; round < 10; round += 1) {
      const result = await sweepTimers(database.pool, { batchSize: 1000 });
      fired = { expire: fired.expire + result.fired.expire, escalate: fired.escalate + result.fired.escalate };
      if (result.fired.expire + result.fired.escalate === 0) break;
    }
    expect(fired.expire).toBeGreaterThanOrEqual(2);
    expect(fired.escalate).toBeGreaterThanOrEqual(2);
    const status = async (id: string) => (await database.pool.query(`SELECT status, dispute FROM orders WHERE id = $1`, [id])).rows[0];
    expect(await status(open.order.id)).toMatchObject({ status: 'expired' });
    expect(await status(accepted.order.id)).toMatchObject({ status: 'expired' });
    expect(await status(escrowed.order.id)).toMatchObject({
      status: 'disputed',
      dispute: { openedBy: 'system', reason: 'payment deadline passed without payment' },
    });
    expect(await status(paid.order.id)).toMatchObject({ status: 'disputed', dispute: { openedBy: 'system' } });
    expect(await status(fresh.order.id)).toMatchObject({ status: 'open' });
    expect((await eventsOf(open.order.id)).at(-1)).toEqual({ type: 'order.expired', actor_role: 'system' });
    expect((await eventsOf(paid.order.id)).at(-1)).toEqual({ type: 'order.disputed', actor_role: 'system' });
    // Each timer transition is a trace of its own: its traceparent goes out with the event.
    const outbox = await database.pool.query<{ aggregateid: string; type: string; traceparent: string | null }>(
      `SELECT DISTINCT ON (aggregateid) aggregateid, type, headers->>'traceparent' AS traceparent FROM outbox WHERE aggregateid = ANY($1) ORDER BY aggregateid, order_version DESC`,
      [[escrowed.order.id, paid.order.id]],
    );
    expect(outbox.rows.find((row) => row.aggregateid === escrowed.order.id)).toMatchObject({ type: 'order.disputed' });
    const traces = outbox.rows.map((row) => parseTraceparent(row.traceparent)?.traceId);
    expect(traces.every((traceId) => traceId !== undefined)).toBe(true);
    expect(new Set(traces).size).toBe(2);
  });

  it('two workers sweeping the same backlog fire each timer exactly once', async () => {
    const orders = await Promise.all(Array.from({ length: 60 }, () => dueOrder('open')));
    const other = createPool(database.url, { max: 4 });
    try {
      const sweepUntilDone = async (target: Pool): Promise<number> => {
        let total = 0;
        for (;;) {
          const result = await sweepTimers(target, { batchSize: 7 });
          total += result.fired.expire + result.fired.escalate;
          if (result.fired.expire + result.fired.escalate + result.lost === 0) return total;
        }
      };
      const [a, b] = await Promise.all([sweepUntilDone(database.pool), sweepUntilDone(other)]);
      expect(a + b).toBeGreaterThanOrEqual(orders.length);
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
    } finally {
      await other.end();
    }
    const counts = await database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM order_events WHERE type = 'order.expired' AND order_id = ANY($1::uuid[]) GROUP BY order_id`,
      [orders.map((entry) => entry.order.id)],
    );
    expect(counts.rows).toHaveLength(orders.length);
    expect(counts.rows.every((row) => row.n === 1)).toBe(true);
  });

  it('a timer firing while a party acts: one wins, the other gets 409, one event', async () => {
    const outcomes = { timer: 0, party: 0 };
    for (let round = 0; round < 12; round += 1) {
      const { order, user } = await dueOrder('open');
      const before = (await eventsOf(order.id)).length;
      const attempt = async (run: () => Promise<unknown>): Promise<'ok' | 409> => {
        try {
          await run();
          return 'ok';
        } catch (error) {
          if (isSettleError(error) && error.status === 409) return 409;
          throw error;
        }
      };
      const [timer, party] = await Promise.all([
        attempt(() => applyTransition(database.pool, { orderId: order.id, command: { action: 'expire' }, actor: SYSTEM_ACTOR })),
        attempt(() => applyTransition(database.pool, { orderId: order.id, command: { action: 'cancel', reason: 'race' }, actor: user })),
      ]);
      expect([timer, party].sort()).toEqual([409, 'ok'].sort());
      if (timer === 'ok') outcomes.timer += 1;
      else outcomes.party += 1;
      expect((await eventsOf(order.id)).length).toBe(before + 1);
    }
    expect(outcomes.timer + outcomes.party).toBe(12);
  });

  it('a party that acted first leaves nothing due: the sweep writes nothing', async () => {
    const { order, merchant } = await dueOrder('open');
    await applyTransition(database.pool, {
      orderId: order.id,
      command: { action: 'accept', walletAddress: testAddress('worker-first-accept') },
      actor: merchant,
    });
    await sweepTimers(database.pool, { batchSize: 1000 });
    const row = await database.pool.query(`SELECT status FROM orders WHERE id = $1`, [order.id]);
    expect(row.rows[0]).toEqual({ status: 'accepted' });
  });

  it('counts disputes past the 24 h compliance SLA without touching them', async () => {
    const { order, user } = await dueOrder('escrowed', minutesAgo(3 * 24 * 60));
    await applyTransition(database.pool, {
      orderId: order.id,
      command: { action: 'dispute', reason: 'sla' },
      actor: user,
      now: minutesAgo(2 * 24 * 60),
    });
    expect(await overdueDisputes(database.pool)).toBeGreaterThanOrEqual(1);
    expect(await overdueDisputes(database.pool, minutesAgo(2 * 24 * 60))).toBe(0);
    const row = await database.pool.query(`SELECT status FROM orders WHERE id = $1`, [order.id]);
    expect(row.rows[0]).toEqual({ status: 'disputed' });
  });
});

describe('retention', () => {
  it('deletes outbox rows, idempotency keys and delivered notifications older than 7 days and keeps the rest', async () => {
    const old = randomUUID();
    const recent = randomUUID();
    await database.pool.query(
      `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, created_at) VALUES
        ($1, 'order', 'a', 'order.created', '{}', now() - interval '8 days'),
        ($2, 'order', 'a', 'order.created', '{}', now() - interval '6 days')`,
      [old, recent],
    );
    await database.pool.query(
      `INSERT INTO idempotency_keys (principal, key, request_hash, created_at) VALUES ('user:x', 'old-key-1', 'h', now() - interval '8 days'), ('user:x', 'new-key-1', 'h', now())`,
    );
    await database.pool.query(
      `INSERT INTO notifications (recipient, seq, event_id, order_id, order_version, type, created_at, delivered_at) VALUES
        ('merchant:m-ret', 1, gen_random_uuid(), gen_random_uuid(), 1, 'order.created', now() - interval '9 days', now() - interval '8 days'),
        ('merchant:m-ret', 2, gen_random_uuid(), gen_random_uuid(), 2, 'order.accepted', now() - interval '9 days', NULL),
        ('merchant:m-ret', 3, gen_random_uuid(), gen_random_uuid(), 3, 'order.completed', now() - interval '2 days', now() - interval '1 day')`,
    );
    const result = await applyRetention(database.pool, { days: 7, webhookDeliveriesDays: 7, bookEventsDays: 7, deadLettersDays: 7 });
    expect(result.notifications).toBe(1);
    const notifications = await database.pool.query(`SELECT seq FROM notifications WHERE recipient = 'merchant:m-ret' ORDER BY seq`);
    // The old delivered one goes; the old undelivered one waits for replay; the recent one stays.
    expect(notifications.rows).toEqual([{ seq: '2' }, { seq: '3' }]);
    expect(result.outbox).toBeGreaterThanOrEqual(1);
    expect(result.idempotencyKeys).toBeGreaterThanOrEqual(1);
    const left = await database.pool.query(`SELECT id FROM outbox WHERE id = ANY($1::uuid[])`, [[old, recent]]);
    expect(left.rows).toEqual([{ id: recent }]);
    const keys = await database.pool.query(`SELECT key FROM idempotency_keys WHERE principal = 'user:x' ORDER BY key`);
    expect(keys.rows).toEqual([{ key: 'new-key-1' }]);
  });
});
