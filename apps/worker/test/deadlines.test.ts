import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { orderPolicy, parseAppConfig } from '@settle/config';
import { applyTransition, createOrderRecord, upsertAccount } from '@settle/db';
import type { Actor } from '@settle/domain';
import { createLogger } from '@settle/observability';
import { useTestDatabase, testAddress, testTxHash } from '@settle/testkit';
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
    await upsertAccount(database.pool, { kind: 'merchant', id: merchant.id });
    const orders: Record<'upi' | 'bank_transfer', string> = { upi: '', bank_transfer: '' };
    for (const paymentMethod of ['upi', 'bank_transfer'] as const) {
      const created = await createOrderRecord(
        database.pool,
        {
          type: 'sell',
          merchantId: merchant.id,
          cryptoAmount: '10',
          cryptoCurrency: 'USDT',
          fiatAmount: '36.70',
          fiatCurrency: 'AED',
          rate: '3.67',
          paymentMethod,
        },
        user,
        { policy },
      );
      if (created.kind !== 'applied') throw new Error('not created');
      await applyTransition(database.pool, {
        orderId: created.order.id,
        command: { action: 'accept', walletAddress: testAddress(`deadline-${paymentMethod}`) },
        actor: merchant,
        policy,
      });
      const locked = await applyTransition(database.pool, {
        orderId: created.order.id,
        command: { action: 'lock_escrow', txHash: testTxHash(`deadline-${paymentMethod}`) },
        actor: user,
        policy,
      });
      if (locked.kind !== 'applied') throw new Error('not locked');
      const window = Date.parse(locked.order.paymentDeadline ?? '') - Date.parse(locked.order.escrowedAt ?? '');
      expect(window).toBe(paymentMethod === 'upi' ? 1_000 : 4 * 3_600_000);
      orders[paymentMethod] = created.order.id;
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
      let upi = await statusOf(orders.upi);
      for (let waited = 0; upi.status !== 'disputed' && waited < 10_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        upi = await statusOf(orders.upi);
      }
      expect(upi.status).toBe('disputed');
      expect((upi.timer_at?.getTime() ?? 0) - (upi.disputed_at?.getTime() ?? 0)).toBe(2_000);
      expect((await statusOf(orders.bank_transfer)).status).toBe('escrowed');
      // Past the 2 s SLA the dispute counts as overdue (alert only): it stays disputed.
      let overdue = 0;
      for (let waited = 0; overdue === 0 && waited < 10_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        overdue = (await registry.getSingleMetric('settle_worker_disputes_overdue')?.get())?.values[0]?.value ?? 0;
      }
      expect(overdue).toBe(1);
      expect((await statusOf(orders.upi)).status).toBe('disputed');
    } finally {
      await worker.stop();
    }
  });
});
