import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, repoRoot } from '@settle/config';
import { createOrderEventConsumer, migrateInbox, type OrderEventConsumer } from '@settle/consumer';
import { createPool, setupRelaySlot, type Pool } from '@settle/db';
import type { Actor } from '@settle/domain';
import { startRelay, type Relay } from '@settle/relay';
import { createTestDatabase, createTestTopics, testStack, uniqueSuffix, walkSellOrder, type TestDatabase } from '@settle/testkit';
import { ledgerHandler, migrateLedger } from '../src/ledger';

const run = promisify(execFile);

describe('examples/ledger-consumer: per-merchant completed volume per currency and day', () => {
  let db: TestDatabase;
  let pool: Pool;
  let relay: Relay;
  let topic: string;
  let kafka: Kafka;
  const groupId = `ledger-${uniqueSuffix()}`;
  const merchants = [`m-ledger-a-${uniqueSuffix()}`, `m-ledger-b-${uniqueSuffix()}`];

  beforeAll(async () => {
    db = await createTestDatabase('ledger');
    pool = createPool(db.url, { max: 6 });
    ({ events: topic = '' } = await createTestTopics('ledger', [
      { name: 'events', numPartitions: 3 },
      { name: 'events.dlt', numPartitions: 1 },
    ]));
    const slot = `ledger_${uniqueSuffix()}`;
    await setupRelaySlot(pool, slot, 'settle_outbox_pub');
    relay = await startRelay({
      config: loadConfig({
        LOG_LEVEL: 'error',
        DATABASE_URL: db.url,
        KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
        ORDER_EVENTS_TOPIC: topic,
        RELAY_SLOT: slot,
        RELAY_HEARTBEAT_MS: '250',
      }),
      port: null,
    });
    kafka = new Kafka({ brokers: testStack().kafkaBrokers, clientId: 'ledger-test', logLevel: logLevel.NOTHING });
    await migrateInbox(pool);
    await migrateLedger(pool);
  });

  afterAll(async () => {
    await relay?.stop();
    await pool?.end();
    await db?.drop();
  });

  /** A SELL order through the write path to completed (or only to escrowed, which must not count). */
  async function trade(merchant: string, crypto: string, fiat: string, complete: boolean): Promise<void> {
    const n = uniqueSuffix();
    const user: Actor = { role: 'user', id: `u-ledger-${n}` };
    await walkSellOrder(pool, {
      user,
      merchant: { role: 'merchant', id: merchant },
      label: `ledger-${n}`,
      order: { cryptoAmount: crypto, fiatAmount: fiat },
      until: complete ? 'completed' : 'escrowed',
    });
  }

  const totals = async () =>
    (
      await pool.query<{ merchant_id: string; fiat_volume: string; crypto_volume: string; orders: number }>(
        `SELECT merchant_id, fiat_volume::text, crypto_volume::text, orders FROM merchant_daily_volume WHERE merchant_id = ANY($1) ORDER BY merchant_id`,
        [merchants],
      )
    ).rows;

  async function consume(until: (consumer: OrderEventConsumer) => Promise<boolean>): Promise<void> {
    const consumer = createOrderEventConsumer({ kafka, groupId, topic, pool, handler: ledgerHandler });
    await consumer.start();
    try {
      const deadline = Date.now() + 30_000;
      while (!(await until(consumer))) {
        if (Date.now() > deadline) throw new Error('the ledger consumer did not catch up');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await consumer.stop();
    }
  }
  const count = async (consumer: OrderEventConsumer, name: string): Promise<number> =>
    ((await consumer.registry.getMetricsAsJSON()).find((metric) => metric.name === name)?.values ?? []).reduce(
      (sum, value) => sum + value.value,
      0,
    );
  const eventCount = async (): Promise<number> =>
    Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM order_events')).rows[0]?.n);

  it('keeps the same totals when the topic is replayed from the beginning twice and a day of events is re-published', async () => {
    await trade(merchants[0]!, '100', '367.25', true);
    await trade(merchants[0]!, '50', '183.63', true);
    await trade(merchants[1]!, '10', '36.73', true);
    await trade(merchants[1]!, '999', '3668.83', false);
    const events = await eventCount();

    await consume(async (consumer) => (await count(consumer, 'settle_consumer_processed_events_total')) === events);
    const expected = [
      { merchant_id: merchants[0], fiat_volume: '550.88', crypto_volume: '150', orders: 2 },
      { merchant_id: merchants[1], fiat_volume: '36.73', crypto_volume: '10', orders: 1 },
    ].sort((a, b) => a.merchant_id!.localeCompare(b.merchant_id!));
    expect(await totals()).toEqual(expected);

    for (let replay = 1; replay <= 2; replay += 1) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.resetOffsets({ groupId, topic, earliest: true });
      await admin.disconnect();
      await consume(async (consumer) => (await count(consumer, 'settle_consumer_duplicate_events_total')) === events);
      expect(await totals()).toEqual(expected);
    }

    // The operator's recovery tool re-sends the day's events; the inbox drops every one of them.
    const since = new Date(Date.now() - 86_400_000).toISOString();
    const cli = await run(
      process.execPath,
      [path.join(repoRoot, 'apps/ops/bin/settle-ops.mjs'), 'outbox', 'republish', '--since', since, '--reason', 'ledger test', '--json'],
      {
        env: {
          PATH: process.env['PATH'],
          DATABASE_URL: db.url,
          KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
          ORDER_EVENTS_TOPIC: topic,
          LOG_LEVEL: 'error',
        },
      },
    );
    expect(JSON.parse(cli.stdout)).toMatchObject({ sent: events, total: events, dryRun: false });
    await consume(async (consumer) => (await count(consumer, 'settle_consumer_duplicate_events_total')) === events);
    expect(await totals()).toEqual(expected);
  });
});
