import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@settle/config';
import { applyTransition, setupRelaySlot, upsertAccount } from '@settle/db';
import type { Actor, OrderView } from '@settle/domain';
import { createKafka } from '@settle/kafka';
import { createTestTopics, testStack, testTxHash, uniqueSuffix, walkSellOrder, useTestDatabase, sleep } from '@settle/testkit';
import { cliEnv, runCliInProcess, type CliResult } from './run-cli';
import type { RelayFigures, StatusReport } from '../src/status';

/** A port nothing listens on: bound once by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('settle-ops status and audit', () => {
  const postgres = useTestDatabase('ops_status', { max: 4 });
  let relay: ChildProcess | undefined;
  let relayPort: number;
  let lagTopic: string;
  const slot = `ops_status_${uniqueSuffix()}`;
  const groupId = `ops-status-${uniqueSuffix()}`;
  const user: Actor = { role: 'user', id: 'u-status' };
  const merchant: Actor = { role: 'merchant', id: 'm-status' };
  const hoursAgo = (hours: number): string => new Date(Date.now() - hours * 3_600_000).toISOString();

  /** A SELL order through the write path to escrowed (at `now`). */
  async function sellOrder(label: string, now?: string): Promise<OrderView> {
    const walked = await walkSellOrder(postgres.pool, { user, merchant, label: `ops-status-${label}`, until: 'escrowed', now });
    return walked.at(-1)!;
  }

  beforeAll(async () => {
    await upsertAccount(postgres.pool, { kind: 'merchant', id: merchant.id });
    const topics = await createTestTopics('ops-status', [
      { name: 'relayed', numPartitions: 1 },
      { name: 'lag', numPartitions: 2 },
    ]);
    lagTopic = topics['lag'] ?? '';
    expect(await setupRelaySlot(postgres.pool, slot, 'settle_outbox_pub')).toBe('created');
    relayPort = await closedPort();
    relay = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'apps/relay/src/main.ts')], {
      cwd: repoRoot,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        LOG_LEVEL: 'error',
        DATABASE_URL: postgres.url,
        KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
        ORDER_EVENTS_TOPIC: topics['relayed'] ?? '',
        RELAY_SLOT: slot,
        RELAY_PORT: String(relayPort),
        RELAY_HEARTBEAT_MS: '250',
      },
      stdio: 'ignore',
    });

    // Three events on partition 0 of the notifier's topic, of which its group has committed the first.
    const kafka = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'ops-status-test' });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: lagTopic, messages: ['a', 'b', 'c'].map((value) => ({ value, partition: 0 })) });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic: lagTopic, partitions: [{ partition: 0, offset: '1' }] });
    await admin.disconnect();
  });

  afterAll(async () => {
    if (relay !== undefined && relay.exitCode === null) {
      const exited = new Promise((resolve) => relay?.once('exit', resolve));
      relay.kill('SIGTERM');
      await exited;
    }
  });

  const env = (overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...cliEnv(postgres.url),
    RELAY_SLOT: slot,
    RELAY_PORT: String(relayPort),
    ORDER_EVENTS_TOPIC: lagTopic,
    NOTIFIER_GROUP_ID: groupId,
    SETTLE_OPS_USER: 'olga',
    ...overrides,
  });
  const cli = (args: string[], overrides: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCliInProcess(env(overrides), args);

  it('status shows the figures from the database, the relay and the consumer group', async () => {
    const completed = (await walkSellOrder(postgres.pool, { user, merchant, label: 'ops-status-completed' })).at(-1)!;
    expect(completed.status).toBe('completed');
    // Disputed 26 h ago: its 24 h SLA passed 2 h ago.
    const disputed = await sellOrder('disputed', hoursAgo(27));
    const dispute = await applyTransition(postgres.pool, {
      orderId: disputed.id,
      command: { action: 'dispute', reason: 'no payment arrived' },
      actor: user,
      now: hoursAgo(26),
    });
    expect(dispute.kind).toBe('applied');
    // Two acknowledged notifications of the last hour, 2 s and 4 s after their events' commits.
    for (const [seq, lag] of [
      [1, 2],
      [2, 4],
    ] as const) {
      const ackedAt = Date.now() - 60_000;
      const eventId = randomUUID();
      await postgres.pool.query(
        `INSERT INTO notification_payloads (event_id, payload, recipients) VALUES ($1, $2, ARRAY['merchant:m-status'])`,
        [eventId, JSON.stringify({ occurredAt: new Date(ackedAt - lag * 1000).toISOString() })],
      );
      await postgres.pool.query(
        `INSERT INTO notifications (recipient, seq, event_id, order_id, order_version, type, created_at, delivered_at)
         VALUES ('merchant:m-status', $1, $2, $3, 1, 'order.created', $4, $5)`,
        [seq, eventId, completed.id, new Date(ackedAt - 100), new Date(ackedAt)],
      );
    }
    await postgres.pool.query(
      `INSERT INTO dead_letters (dlt_topic, dlt_partition, dlt_offset, dlt_timestamp, original_topic, exception_class, exception_message, channel)
       VALUES ('t.dlt', 0, 1, now() - interval '10 minutes', 't', 'WebhookRejected', '400', 'webhook'),
              ('t.dlt', 0, 2, now() - interval '3 hours', 't', 'SchemaError', 'bad', 'socket')`,
    );

    let report: StatusReport | undefined;
    let relayFigures: Partial<RelayFigures> = {};
    const deadline = Date.now() + 90_000;
    for (;;) {
      const result = await cli(['status', '--json']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      report = JSON.parse(result.stdout) as StatusReport;
      relayFigures = 'unavailable' in report.relay ? {} : report.relay;
      if (relayFigures.role === 'active' && relayFigures.outboxWaiting === 0) break;
      if (Date.now() > deadline) throw new Error(`the relay never reported an empty backlog: ${result.stdout}`);
      await sleep(500);
    }
    expect(relayFigures).toMatchObject({ role: 'active', streaming: true, outboxWaiting: 0 });
    expect(relayFigures.lastAckAgeSeconds).toBeLessThan(5);
    if (report === undefined || 'unavailable' in report.database)
      throw new Error(`the database is not reachable: ${JSON.stringify(report)}`);
    const database = report.database;
    expect(database.ordersCompletedToday).toBe(1);
    expect(database.deadLettersLastHour).toEqual({ total: 1, byChannel: { webhook: 1 } });
    expect(database.deliveryLastHour.delivered).toBe(2);
    expect(database.deliveryLastHour.averageSeconds).toBeCloseTo(3, 2);
    expect(database.deliveryLastHour.p99Seconds).toBeCloseTo(3.98, 2);
    expect(database.slot).toMatchObject({ name: slot, active: true });
    expect(database.slot?.lagBytes).toBeGreaterThanOrEqual(0);
    expect(database.disputes).toMatchObject({ open: 1, overdue: 1, oldest: { orderId: disputed.id, orderNumber: disputed.orderNumber } });
    expect(database.disputes.oldest?.ageSeconds).toBeGreaterThan(26 * 3600 - 60);
    expect(database.stuckOrders).toEqual({ total: 0, byKind: {} });
    expect(report.consumerGroup).toEqual({
      groupId,
      topic: lagTopic,
      total: 2,
      partitions: [
        { partition: 0, committed: '1', end: '3', lag: 2 },
        { partition: 1, committed: null, end: '0', lag: 0 },
      ],
    });

    const text = await cli(['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/events waiting to be published\s+0/);
    expect(text.stdout).toMatch(/relay\s+active, streaming, last ack/);
    expect(text.stdout).toMatch(/dead letters, last hour\s+1 \(webhook 1\)/);
    expect(text.stdout).toMatch(/delivery \(commit → ack\), last hour\s+2 delivered, average 3\.000 s, p99 3\.98\d s/);
    expect(text.stdout).toMatch(/orders completed today \(UTC\)\s+1/);
    expect(text.stdout).toContain(`oldest ${disputed.orderNumber} (${disputed.id}) for 26 h`);
    expect(text.stdout).toMatch(/notifier consumer lag \(ops-status-[^)]+\)\s+2: p0 2, p1 0/);
  });

  it('status shows dependencies that are down as such, without a stack trace', async () => {
    const [pgPort, kafkaPort, deadRelay] = await Promise.all([closedPort(), closedPort(), closedPort()]);
    const down = {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/settle`,
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      RELAY_PORT: String(deadRelay),
    };
    const json = await cli(['status', '--json'], down);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(json.stdout) as Record<string, { unavailable?: string }>;
    expect(report['database']?.unavailable).toMatch(/^database not reachable: /);
    expect(report['relay']?.unavailable).toMatch(/^relay not reachable: /);
    expect(report['consumerGroup']?.unavailable).toMatch(/^kafka not reachable: /);
    const text = await cli(['status'], down);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/relay\s+relay not reachable/);
    expect(text.stdout).toMatch(/database\s+database not reachable/);
    expect(text.stdout).not.toMatch(/\n\s+at /);
  });

  it('audit lists transitions, repairs and dead-letter actions with who and why, newest last, filtered by order and time', async () => {
    const order = await sellOrder('audited');
    const beforeForce = new Date();
    const forced = await applyTransition(postgres.pool, {
      orderId: order.id,
      command: { action: 'force_cancel', reason: 'merchant account frozen', refundTxHash: testTxHash('ops-audit-refund') },
      actor: { role: 'compliance', id: 'c-rita' },
    });
    expect(forced.kind).toBe('applied');
    const letter = await postgres.pool.query<{ id: string }>(
      `INSERT INTO dead_letters (dlt_topic, dlt_partition, dlt_offset, dlt_timestamp, original_topic, exception_class, exception_message, order_id)
       VALUES ('t.dlt', 1, 9, now(), 't', 'SchemaError', 'bad', $1) RETURNING id`,
      [order.id],
    );
    const letterId = letter.rows[0]?.id ?? '';
    expect((await cli(['dlq', 'resolve', letterId, '--note', 'duplicate of a delivered event'])).code).toBe(0);

    const result = await cli(['audit', '--order', order.id, '--json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const entries = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(
      entries.map((entry) => [
        entry['source'],
        entry['action'],
        `${String(entry['actorRole'])}:${String(entry['actorId'])}`,
        entry['reason'],
      ]),
    ).toEqual([
      ['transition', 'order.created', 'user:u-status', null],
      ['transition', 'order.accepted', 'merchant:m-status', null],
      ['transition', 'order.escrow_locked', 'user:u-status', null],
      ['transition', 'order.cancelled', 'compliance:c-rita', null],
      ['order_audit', 'force_cancel', 'compliance:c-rita', 'merchant account frozen'],
      ['dead_letter', 'resolve', 'ops:olga', 'duplicate of a delivered event'],
    ]);
    expect(entries.at(-1)).toMatchObject({ deadLetterId: Number(letterId), orderId: order.id });
    const times = entries.map((entry) => String(entry['at']));
    expect([...times].sort()).toEqual(times);

    const recent = JSON.parse((await cli(['audit', '--order', order.id, '--since', beforeForce.toISOString(), '--json'])).stdout) as Array<
      Record<string, unknown>
    >;
    expect(recent.map((entry) => entry['action'])).toEqual(['order.cancelled', 'force_cancel', 'resolve']);
    const text = await cli(['audit', '--order', order.id]);
    expect(text.stdout).toMatch(/order_audit\s+force_cancel\s+compliance:c-rita\s+\S+ v4\s+merchant account frozen/);
    expect(text.stdout).toContain(`dead letter #${letterId} (${order.orderNumber})`);
  });

  it('bad arguments are a one-line usage error with exit 2', async () => {
    expect(await cli(['audit', '--order', 'BM-1'])).toEqual({
      code: 2,
      stdout: '',
      stderr: `settle-ops: option '--order <id>' argument 'BM-1' is invalid. an order id is a UUID, got "BM-1"\n`,
    });
    const since = await cli(['audit', '--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr.trim().split('\n')).toHaveLength(1);
    expect(since.stderr).toContain('since is an ISO time');
    const unknown = await cli(['status', '--tables']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toBe("settle-ops: unknown option '--tables'\n");
  });
});
