import { beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { parseAppConfig } from '@settle/config';
import { upsertAccount } from '@settle/db';
import { createLogger } from '@settle/observability';
import { useTestDatabase, importLegacyOrder, testTxHash, waitFor } from '@settle/testkit';
import { retentionPolicy, startWorker } from '../src/index';

const database = useTestDatabase('reconciler', { max: 3 });
beforeAll(async () => {
  await upsertAccount(database.pool, { kind: 'merchant', id: 'm-stuck' });
});

describe('the reconciler', () => {
  it('reports stuck orders by kind as a metric and a log line, and changes nothing itself', async () => {
    await importLegacyOrder(database.pool, {
      status: 'payment_sent',
      merchantId: 'm-stuck',
      userId: 'u-stuck-1',
      escrowTxHash: testTxHash('stuck-e1'),
      releaseTxHash: testTxHash('stuck-r1'),
    });
    await importLegacyOrder(database.pool, {
      status: 'payment_sent',
      merchantId: 'm-stuck',
      userId: 'u-stuck-2',
      escrowTxHash: testTxHash('stuck-e2'),
      releaseTxHash: testTxHash('stuck-r2'),
    });
    await importLegacyOrder(database.pool, {
      status: 'escrowed',
      merchantId: 'm-stuck',
      userId: 'u-stuck-3',
      escrowTxHash: testTxHash('stuck-e3'),
      refundTxHash: testTxHash('stuck-f3'),
    });
    const registry = new Registry();
    const lines: string[] = [];
    const logger = createLogger('worker', 'warn', { write: (line: string) => void lines.push(line) });
    // Timers are not swept here (a huge interval after the first round); the reconciler runs on the first round.
    const worker = startWorker({
      pool: database.pool,
      logger,
      registry,
      intervalMs: 60_000,
      batchSize: 1,
      retention: retentionPolicy(parseAppConfig('worker', {})),
      retentionEveryMs: 3_600_000,
      reconcileEveryMs: 0,
    });
    try {
      const value = async (kind: string): Promise<number> =>
        (await registry.getSingleMetric('settle_worker_stuck_orders')?.get())?.values.find((entry) => entry.labels['kind'] === kind)
          ?.value ?? -1;
      await waitFor(async () => (await value('release_recorded')) === 2, 'two recorded releases reported', 10_000);
      expect(await value('release_recorded')).toBe(2);
      expect(await value('refund_recorded')).toBe(1);
      expect(await value('timer_overdue')).toBe(0);
      expect(lines.some((line) => line.includes('stuck orders found') && line.includes('"stuck":3'))).toBe(true);
      const statuses = await database.pool.query(`SELECT status, count(*)::int AS n FROM orders GROUP BY status ORDER BY status`);
      expect(statuses.rows).toEqual([
        { status: 'escrowed', n: 1 },
        { status: 'payment_sent', n: 2 },
      ]);
    } finally {
      await worker.stop();
    }
  });
});
