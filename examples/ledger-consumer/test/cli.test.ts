import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, repoRoot } from '@settle/config';
import { createPool, setupRelaySlot, type Pool } from '@settle/db';
import type { Actor } from '@settle/domain';
import { createKafka } from '@settle/kafka';
import { startRelay, type Relay } from '@settle/relay';
import { createTestDatabase, createTestTopics, testStack, uniqueSuffix, walkSellOrder, type TestDatabase } from '@settle/testkit';

const MAIN = path.join(repoRoot, 'examples/ledger-consumer/src/main.ts');

describe('the ledger consumer CLI: start, blocked, resolve', () => {
  let db: TestDatabase;
  let pool: Pool;
  let relay: Relay;
  let topic: string;
  let env: NodeJS.ProcessEnv;
  let consumer: ChildProcess | undefined;
  const output: string[] = [];

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 });
  const waitFor = async (what: string, check: () => Promise<boolean>): Promise<void> => {
    for (const deadline = Date.now() + 30_000; !(await check());) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${output.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const inbox = async (orderId: string) =>
    (
      await pool
        .query<{ order_version: number; state: string }>(
          `SELECT order_version, state FROM settle_inbox WHERE order_id = $1 ORDER BY order_version`,
          [orderId],
        )
        .catch(() => ({ rows: [] }))
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase('ledger_cli');
    pool = createPool(db.url, { max: 3 });
    ({ events: topic = '' } = await createTestTopics('ledgercli', [
      { name: 'events', numPartitions: 3 },
      { name: 'events.dlt', numPartitions: 1 },
    ]));
    const slot = `ledgercli_${uniqueSuffix()}`;
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
    env = {
      PATH: process.env['PATH'],
      DATABASE_URL: db.url,
      KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
      ORDER_EVENTS_TOPIC: topic,
      LEDGER_GROUP_ID: `ledger-cli-${uniqueSuffix()}`,
    };
  });

  afterAll(async () => {
    consumer?.kill('SIGKILL');
    await relay?.stop();
    await pool?.end();
    await db?.drop();
  });

  it('holds an order behind its dead letter, lists it, and hands over its held events once it is resolved', async () => {
    consumer = spawn(process.execPath, ['--import', 'tsx', MAIN], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    consumer.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    consumer.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));

    const n = uniqueSuffix();
    const user: Actor = { role: 'user', id: `u-cli-${n}` };
    const merchant: Actor = { role: 'merchant', id: `m-cli-${n}` };
    const [created] = await walkSellOrder(pool, { user, merchant, label: `cli-${n}`, until: 'open' });
    const id = created!.id;
    await waitFor('the created event in the inbox', async () =>
      (await inbox(id)).some((row) => row.order_version === 1 && row.state === 'done'),
    );

    // A message for the order that is not an event: dead-lettered, and the order is held from here on.
    const producer = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'ledger-cli-test' }).producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: id, value: 'not an event' }] });
    await producer.disconnect();
    await waitFor('the order to be held', async () => {
      const listed = cli('blocked', '--json');
      return listed.status === 0 && (JSON.parse(listed.stdout) as { orderId: string }[]).some((order) => order.orderId === id);
    });
    expect(cli('blocked').stdout.trim()).toMatch(new RegExp(`^${id}  since \\S+  InvalidEventError: the message value is not JSON$`));

    await walkSellOrder(pool, { user, merchant, label: `cli-${n}`, from: created });
    await waitFor('four held events', async () => (await inbox(id)).filter((row) => row.state === 'held').length === 4);
    const volume = async () =>
      (
        await pool.query<{ orders: number; fiat_volume: string }>(
          'SELECT orders, fiat_volume::text FROM merchant_daily_volume WHERE merchant_id = $1',
          [merchant.id],
        )
      ).rows;
    expect(await volume()).toEqual([]);

    // Bad arguments: one line each, exit 1, nothing changed.
    for (const [args, reason] of [
      [['resolve', 'not-an-id', '--skip'], 'ledger-consumer: not-an-id is not an order id'],
      [['resolve', id], 'ledger-consumer: say what to do with the dead letter: --skip (drop it) or --retry (handle it again)'],
      [
        ['resolve', '00000000-0000-4000-8000-000000000000', '--skip'],
        'ledger-consumer: order 00000000-0000-4000-8000-000000000000 is not held',
      ],
      [['resolve', id, '--skip', '--retry'], "error: option '--skip' cannot be used with option '--retry'"],
      [['no-such-command'], "error: too many arguments for 'start'"],
    ] as const) {
      const result = cli(...args);
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr, args.join(' ')).toContain(reason);
    }
    expect((await inbox(id)).filter((row) => row.state === 'held')).toHaveLength(4);

    const resolved = cli('resolve', id, '--skip');
    expect(resolved.status, resolved.stderr).toBe(0);
    expect(resolved.stdout.trim()).toBe(`${id}: resolved (skipped the dead letter), 4 events handled`);
    expect(await volume()).toEqual([{ orders: 1, fiat_volume: '367.25' }]);
    expect((await inbox(id)).map((row) => row.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(cli('blocked').stdout.trim()).toBe('no order is held');

    // Without a database the CLI says so in one line.
    const noDatabase = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'blocked'], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'] },
      encoding: 'utf8',
    });
    expect(noDatabase.status).toBe(1);
    expect(noDatabase.stderr.trim()).toBe("ledger-consumer: set DATABASE_URL to the ledger's own database");
  });
});
