import { beforeAll, describe, expect, it } from 'vitest';
import { upsertAccount } from '@settle/db';
import type { Order } from '@settle/domain';
import { useTestDatabase, importLegacyOrder, testTxHash } from '@settle/testkit';
import { cliEnv, runCliInProcess, type CliResult } from './run-cli';

/** Stuck orders as an import from the old system leaves them, repaired through the one write path. */
describe('settle-ops repair', () => {
  const database = useTestDatabase('ops_repair', { max: 3 });
  beforeAll(async () => {
    await upsertAccount(database.pool, { kind: 'merchant', id: 'm-legacy' });
  });

  const cli = (...args: string[]): Promise<CliResult> =>
    runCliInProcess(cliEnv(database.url, { JWT_SECRET: 'test-secret-of-the-ops-repair-tests', SETTLE_OPS_USER: 'alice' }), args);
  const counts = async (): Promise<Record<string, number>> =>
    (
      await database.pool.query(
        `SELECT (SELECT count(*)::int FROM order_events) AS events, (SELECT count(*)::int FROM outbox) AS outbox, (SELECT count(*)::int FROM order_audit) AS audit`,
      )
    ).rows[0];

  /** Left at payment_sent though its release is on chain (release_recorded): user u-legacy-<n>, hashes legacy-*-<n>. */
  const releaseRecorded = (n: number): Promise<Order> =>
    importLegacyOrder(database.pool, {
      status: 'payment_sent',
      merchantId: 'm-legacy',
      userId: `u-legacy-${n}`,
      escrowTxHash: testTxHash(`legacy-escrow-${n}`),
      releaseTxHash: testTxHash(`legacy-release-${n}`),
    });

  it('finds each stuck state, changes nothing on a dry run, and repairs each with event, outbox and audit rows on --apply', async () => {
    const released = await releaseRecorded(1);
    const refunded = await importLegacyOrder(database.pool, {
      status: 'escrowed',
      merchantId: 'm-legacy',
      userId: 'u-legacy-2',
      escrowTxHash: testTxHash('legacy-escrow-2'),
      refundTxHash: testTxHash('legacy-refund-2'),
    });
    const overdue = await importLegacyOrder(database.pool, {
      status: 'accepted',
      merchantId: 'm-legacy',
      userId: 'u-legacy-3',
      timerAt: new Date(Date.now() - 3_600_000).toISOString(),
    });
    const healthy = await importLegacyOrder(database.pool, {
      status: 'escrowed',
      merchantId: 'm-legacy',
      userId: 'u-legacy-4',
      escrowTxHash: testTxHash('legacy-escrow-4'),
      timerAt: new Date(Date.now() + 3_600_000).toISOString(),
    });

    const before = await counts();
    const dry = await cli('repair', '--json');
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.stdout) as {
      applied: boolean;
      orders: Array<{ orderId: string; kind: string; action: string; result: string }>;
    };
    expect(planned.applied).toBe(false);
    expect(planned.orders.map((row) => [row.orderId, row.kind, row.action, row.result]).sort()).toEqual(
      [
        [released.id, 'release_recorded', 'repair_complete', 'would-repair'],
        [refunded.id, 'refund_recorded', 'repair_refund', 'would-repair'],
        [overdue.id, 'timer_overdue', 'expire', 'would-repair'],
      ].sort(),
    );
    expect(await counts()).toEqual(before);

    const noReason = await cli('repair', '--apply');
    expect(noReason).toMatchObject({ code: 2, stdout: '' });
    expect(noReason.stderr).toBe('settle-ops: --reason is required with --apply: say why these orders are repaired (it is audited)\n');

    const applied = await cli('repair', '--apply', '--reason', 'import from the old system left them stuck');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('repaired 3 of 3; changed meanwhile 0; failed 0');
    const statuses = await database.pool.query<{ id: string; status: string; order_version: number }>(
      `SELECT id, status, order_version FROM orders WHERE id = ANY($1::uuid[])`,
      [[released.id, refunded.id, overdue.id, healthy.id]],
    );
    expect(Object.fromEntries(statuses.rows.map((row) => [row.id, [row.status, row.order_version]]))).toEqual({
      [released.id]: ['completed', 4],
      [refunded.id]: ['cancelled', 4],
      [overdue.id]: ['expired', 4],
      [healthy.id]: ['escrowed', 3],
    });
    expect(await counts()).toEqual({ events: before['events']! + 3, outbox: before['outbox']! + 3, audit: before['audit']! + 3 });
    // Each repair's event carries a trace of its own, like a request's.
    const traced = await database.pool.query<{ traceparent: string | null }>(
      `SELECT headers->>'traceparent' AS traceparent FROM outbox WHERE aggregateid = ANY($1) AND order_version = 4`,
      [[released.id, refunded.id, overdue.id]],
    );
    expect(new Set(traced.rows.map((row) => /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.exec(row.traceparent ?? '')?.[0].slice(3, 35))).size).toBe(
      3,
    );
    expect(traced.rows.every((row) => row.traceparent !== null)).toBe(true);
    const events = await database.pool.query(
      `SELECT order_id, type, actor_role FROM order_events WHERE order_id = ANY($1::uuid[]) ORDER BY order_id`,
      [[released.id, refunded.id, overdue.id]],
    );
    expect(events.rows).toEqual(
      expect.arrayContaining([
        { order_id: released.id, type: 'order.completed', actor_role: 'system' },
        { order_id: refunded.id, type: 'order.cancelled', actor_role: 'system' },
        { order_id: overdue.id, type: 'order.expired', actor_role: 'system' },
      ]),
    );
    const audit = await database.pool.query(`SELECT order_id, action, actor_role, actor_id, reason FROM order_audit WHERE order_id = $1`, [
      released.id,
    ]);
    expect(audit.rows).toEqual([
      {
        order_id: released.id,
        action: 'repair_complete',
        actor_role: 'system',
        actor_id: 'alice',
        reason: 'import from the old system left them stuck',
      },
    ]);

    expect((await cli('repair')).stdout.trim()).toBe('no stuck orders');
  });

  it('--order limits the run to one order; a bad id is a one-line usage error', async () => {
    const one = await releaseRecorded(5);
    const other = await releaseRecorded(6);
    const applied = await cli('repair', '--apply', '--order', one.id, '--reason', 'ticket 42', '--json');
    expect((JSON.parse(applied.stdout) as { orders: Array<{ orderId: string; result: string }> }).orders).toEqual([
      expect.objectContaining({ orderId: one.id, result: 'repaired' }),
    ]);
    expect((await database.pool.query(`SELECT status FROM orders WHERE id = $1`, [other.id])).rows[0]).toEqual({ status: 'payment_sent' });
    const bad = await cli('repair', '--order', 'not-a-uuid');
    expect(bad).toMatchObject({ code: 2, stderr: 'settle-ops: --order must be an order id (a UUID), got "not-a-uuid"\n' });
  });
});
