import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { orderPolicy, parseAppConfig } from '@settle/config';
import type { Actor } from '@settle/domain';
import { createLogger } from '@settle/observability';
import { useTestDatabase, waitFor, walkSellOrder } from '@settle/testkit';
import { retentionPolicy, startWorker } from '../src/index';

const database = useTestDatabase('deadlines', { max: 5 });

const statusOf = async (id: string): Promise<{ status: string; timer_at: Date | null; disputed_at: Date | null }> =>
  (await database.pool.query(`SELECT status, timer_at, disputed_at FROM orders WHERE id = $1`, [id])).rows[0];

describe('deadlines configured per payment method', () => {
  it('a 1 s UPI payment window escalates an unpaid escrow to a dispute whose 2 s SLA deadline is on the order; bank transfer keeps its 4 h', async () => {
    const config = parseAppConfig('worker', { TIMER_PAYMENT_WINDOW: 'upi=1s', TIMER_DISPUTE_SLA: '2s' });
    const policy = orderPolicy(config);
    const user: Actor = { role: 'user', id: 'u-deadline' };
    const merchant: Actor = { role: 'merchant', id: 'm-deadline' };
    const orders: Record<'upi' | 'bank_transfer', string> = { upi: '', bank_transfer: '' };
    for (const paymentMethod of ['upi', 'bank_transfer'] as const) {
      const locked = (
        await walkSellOrder(database.pool, {
          user,
          merchant,
          label: `deadline-${paymentMethod}`,
          until: 'escrowed',
          order: { cryptoAmount: '10', fiatAmount: '36.70', rate: '3.67', paymentMethod },
          policy,
        })
      ).at(-1)!;
      const window = Date.parse(locked.paymentDeadline ?? '') - Date.parse(locked.escrowedAt ?? '');
      expect(window).toBe(paymentMethod === 'upi' ? 1_000 : 4 * 3_600_000);
      orders[paymentMethod] = locked.id;
    }
    expect((await statusOf(orders.upi)).status).toBe('escrowed');

    const registry = new Registry();
    const worker = startWorker({
      pool: database.pool,
      logger: createLogger('worker', 'silent'),
      registry,
      intervalMs: 50,
      batchSize: 100,
      policy,
      retention: retentionPolicy(config),
      retentionEveryMs: 3_600_000,
    });
    try {
      await waitFor(async () => (await statusOf(orders.upi)).status === 'disputed', 'the UPI order to be disputed', 10_000);
      const upi = await statusOf(orders.upi);
      expect(upi.status).toBe('disputed');
      expect((upi.timer_at?.getTime() ?? 0) - (upi.disputed_at?.getTime() ?? 0)).toBe(2_000);
      expect((await statusOf(orders.bank_transfer)).status).toBe('escrowed');
      // Past the 2 s SLA the dispute counts as overdue (alert only): it stays disputed.
      const overdue = async (): Promise<number> =>
        (await registry.getSingleMetric('settle_worker_disputes_overdue')?.get())?.values[0]?.value ?? 0;
      await waitFor(async () => (await overdue()) !== 0, 'an overdue dispute', 10_000);
      expect(await overdue()).toBe(1);
      expect((await statusOf(orders.upi)).status).toBe('disputed');
    } finally {
      await worker.stop();
    }
  });
});
