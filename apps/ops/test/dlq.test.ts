import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '@settle/auth';
import { loadConfig } from '@settle/config';
import { connectNotifier, type NotificationPayload } from '@settle/contracts';
import { registerWebhookEndpoint } from '@settle/db';
import { buildEvent, createOrder, orderNumber, toView, type Order, type OrderEvent } from '@settle/domain';
import { createKafka, deadLetterTopic, headersAsText } from '@settle/kafka';
import { startNotifier, type Notifier } from '@settle/notifier';
import { useTestDatabase, createTestTopics, testStack, testAddress, waitFor, sleep, startWebhookReceiver } from '@settle/testkit';
import { cliEnv, runCliInProcess, type CliResult } from './run-cli';
import { randomBytes, randomUUID } from 'node:crypto';

const run = promisify(execFile);
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/settle-ops.mjs');
const JWT_SECRET = 'test-secret-of-the-ops-tests-000';

describe('settle-ops dlq: poison events, replay, park, resolve', () => {
  const database = useTestDatabase('ops_dlq', { max: 3 });
  let topic: string;
  let notifier: Notifier;
  const kafka = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'ops-test' });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });

  beforeAll(async () => {
    ({ events: topic = '' } = await createTestTopics('ops', [{ name: 'events', numPartitions: 2 }]));
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: database.url,
      KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
      ORDER_EVENTS_TOPIC: topic,
      ORDER_EVENTS_PARTITIONS: '2',
      NOTIFIER_GROUP_ID: `settle-notifier-ops-${randomBytes(3).toString('hex')}`,
      JWT_SECRET,
      // The webhook receivers below listen on loopback.
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    });
    notifier = await startNotifier({ config, port: 0, host: '127.0.0.1' });
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await notifier?.stop();
  });

  const env = (): NodeJS.ProcessEnv => cliEnv(database.url, { JWT_SECRET, DLQ_MAX_REPLAYS: '2', SETTLE_OPS_USER: 'ops-test' });

  /** settle-ops as a process: real exit codes and stderr. */
  async function cliProcess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: env(), timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  const cli = (...args: string[]): Promise<CliResult> => runCliInProcess(env(), args);

  const rows = async (sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> =>
    (await database.pool.query(sql, params)).rows;

  /** Reads `count` messages of a topic from the beginning (its own consumer group). */
  async function readTopic(name: string, count: number): Promise<KafkaMessage[]> {
    const consumer = kafka.consumer({ groupId: `ops-test-reader-${randomUUID()}` });
    const seen: KafkaMessage[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: name, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
    try {
      await waitFor(() => seen.length >= count, `${count} messages on ${name}`);
      return seen;
    } finally {
      await consumer.disconnect();
    }
  }

  function orderFor(merchant: string): { order: Order; event: OrderEvent } {
    const now = new Date().toISOString();
    const order = createOrder(
      {
        type: 'buy',
        merchantId: merchant,
        cryptoAmount: '50.00',
        cryptoCurrency: 'USDT',
        fiatAmount: '183.62',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'upi',
        buyerWalletAddress: testAddress('ops-buyer'),
      },
      { role: 'user', id: 'u-ops' },
      { id: randomUUID(), orderNumber: orderNumber(now, randomBytes(8)), now, profileWallet: () => null },
    );
    const event = buildEvent({
      eventId: randomUUID(),
      type: 'order.created',
      order: toView(order, () => null),
      previousStatus: null,
      actor: { role: 'user', id: 'u-ops' },
      occurredAt: now,
    });
    return { order, event };
  }

  const snapshot = async (): Promise<unknown> => ({
    letters: await rows(`SELECT id, status, replay_count, resolved_at FROM dead_letters ORDER BY id`),
    audit: await rows(`SELECT count(*)::int AS n FROM dead_letter_audit`),
    cursors: await rows(`SELECT filter_key, last_id, finished_at FROM dead_letter_replay_cursors ORDER BY filter_key`),
    notifications: await rows(`SELECT count(*)::int AS n FROM notifications`),
    topic: await topicEnds(),
  });

  async function topicEnds(): Promise<string[]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).map((partition) => partition.high);
    } finally {
      await admin.disconnect();
    }
  }

  it('a webhook delivery the receiver rejects lands in the DLT after one attempt with the dlt-* headers and its message headers; once the receiver accepts, replay delivers it exactly once; --dry-run changes nothing', async () => {
    const merchant = 'm-ops';
    let answer = 400;
    const hook = await startWebhookReceiver(() => answer);
    const endpoint = await registerWebhookEndpoint(database.pool, { merchantId: merchant, url: hook.url });
    const shown: NotificationPayload[] = [];
    const raw: NotificationPayload[] = [];
    const client = connectNotifier({
      url: `http://127.0.0.1:${notifier.port}`,
      token: await signToken({ JWT_SECRET, JWT_ISSUER: undefined }, { role: 'merchant', id: merchant }),
      onNotification: (n) => shown.push(n),
      socketOptions: { reconnection: false, forceNew: true },
    });
    client.socket.on('notification', (n) => raw.push(n));
    await new Promise<void>((resolve) => client.socket.once('synced', () => resolve()));
    try {
      const { order, event } = orderFor(merchant);
      await producer.send({ topic, acks: -1, messages: [{ key: order.id, value: JSON.stringify(event), headers: { id: event.eventId } }] });

      const [dead] = await readTopic(deadLetterTopic(topic), 1);
      const headers = headersAsText(dead!.headers);
      expect(headers).toMatchObject({
        'dlt-original-topic': topic,
        'dlt-original-consumer-group': expect.stringMatching(/^settle-notifier-ops-/),
        'dlt-exception-class': 'WebhookRejectedError',
        'dlt-exception-message': `${hook.url} rejected the delivery with HTTP 400`,
        'dlt-attempts': '1',
        'dlt-event-id': event.eventId,
        'dlt-channel': 'webhook',
        'dlt-webhook-endpoint-id': endpoint.id,
        id: event.eventId,
      });
      expect(Number(headers['dlt-original-partition'])).toBeGreaterThanOrEqual(0);
      expect(headers['dlt-original-offset']).toMatch(/^\d+$/);
      expect(headers['dlt-original-timestamp']).toMatch(/^\d+$/);
      expect(headers['dlt-exception-stacktrace']).toContain('WebhookRejectedError');
      expect(dead!.key?.toString()).toBe(order.id);
      expect(JSON.parse(dead!.value!.toString())).toEqual(JSON.parse(JSON.stringify(event)));
      // The socket channel does not depend on a webhook receiver's answer.
      await waitFor(() => shown.length === 1, 'the notification');

      await waitFor(async () => (await rows(`SELECT 1 FROM dead_letters`)).length === 1, 'the mirror row');
      const listed = await cli('dlq', 'list', '--merchant', merchant, '--json');
      expect(listed.code).toBe(0);
      const letters = JSON.parse(listed.stdout) as Array<{ id: number; exceptionClass: string; eventId: string; status: string }>;
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ exceptionClass: 'WebhookRejectedError', eventId: event.eventId, status: 'open' });
      const id = letters[0]!.id;
      expect((await cli('dlq', 'list', '--type', 'order.completed', '--json')).stdout.trim()).toBe('[]');
      expect((await cli('dlq', 'list', '--error', 'webhookrejected')).stdout).toContain('WebhookRejectedError');
      const shownLetter = JSON.parse((await cli('dlq', 'show', String(id), '--json')).stdout) as {
        value: { eventId: string };
        original: { topic: string };
      };
      expect(shownLetter.value.eventId).toBe(event.eventId);
      expect(shownLetter.original.topic).toBe(topic);

      const before = await snapshot();
      const dry = await cli('dlq', 'replay', '--merchant', merchant, '--dry-run');
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain(`dry run: would replay 1 (${id})`);
      expect(await snapshot()).toEqual(before);

      // Fix the cause (the receiver accepts now), then replay.
      answer = 200;
      const replay = await cliProcess('dlq', 'replay', '--merchant', merchant, '--reason', 'receiver fixed', '--rate', '20/s');
      expect(replay.code).toBe(0);
      expect(replay.stdout).toContain(`replayed 1 (${id})`);
      await waitFor(
        async () =>
          (await rows(`SELECT status FROM webhook_deliveries WHERE endpoint_id = $1`, [endpoint.id]))[0]?.['status'] === 'delivered',
        'the replayed delivery',
      );
      expect(hook.received.map((request) => request.status)).toEqual([400, 200]);
      expect(await rows(`SELECT status, replay_count FROM dead_letters WHERE id = $1`, [id])).toEqual([
        { status: 'replayed', replay_count: 1 },
      ]);
      expect(await rows(`SELECT action, actor, reason FROM dead_letter_audit WHERE dead_letter_id = $1`, [id])).toEqual([
        { action: 'replay', actor: 'ops-test', reason: 'receiver fixed' },
      ]);

      // Replaying again finds nothing open; the receiver got it once, the socket showed it once.
      expect((await cli('dlq', 'replay', '--merchant', merchant, '--reason', 'again')).stdout).toContain('replayed 0');
      await sleep(500);
      expect(hook.received.map((request) => request.status)).toEqual([400, 200]);
      expect(raw.filter((n) => n.eventId === event.eventId)).toHaveLength(1);
      expect(await rows(`SELECT count(*)::int AS n FROM notifications WHERE event_id = $1`, [event.eventId])).toEqual([{ n: 2 }]);
    } finally {
      client.close();
      await hook.close();
    }
  });

  it('a webhook delivery that keeps being rejected is parked after DLQ_MAX_REPLAYS replays: each of its dead letters carries the replay count', async () => {
    const merchant = 'm-ops-park';
    const hook = await startWebhookReceiver(() => 400);
    try {
      const endpoint = await registerWebhookEndpoint(database.pool, { merchantId: merchant, url: hook.url });
      const { order, event } = orderFor(merchant);
      await producer.send({ topic, acks: -1, messages: [{ key: order.id, value: JSON.stringify(event), headers: { id: event.eventId } }] });
      const letters = async (): Promise<Array<Record<string, unknown>>> =>
        rows(`SELECT id, status, replay_count, original_headers FROM dead_letters WHERE webhook_endpoint_id = $1 ORDER BY id`, [
          endpoint.id,
        ]);
      await waitFor(async () => (await letters()).length === 1, 'the first dead letter');
      expect((await letters())[0]).toMatchObject({ replay_count: 0, original_headers: { id: event.eventId } });

      for (let round = 1; round <= 2; round += 1) {
        const replay = await cli('dlq', 'replay', '--merchant', merchant, '--reason', `round ${round}`);
        expect(replay.code).toBe(0);
        await waitFor(async () => (await letters()).length === round + 1, `letter ${round + 1}`);
      }
      expect((await letters()).map((row) => [row['status'], row['replay_count']])).toEqual([
        ['replayed', 1],
        ['replayed', 2],
        ['open', 2],
      ]);
      expect((await letters()).at(-1)?.['original_headers']).toMatchObject({
        id: event.eventId,
        'settle-replay-count': '2',
        'settle-replay-channel': 'webhook',
      });
      const parked = await cli('dlq', 'replay', '--merchant', merchant, '--reason', 'round 3', '--json');
      const summary = JSON.parse(parked.stdout) as { replayed: number[]; parked: number[] };
      expect(summary.replayed).toEqual([]);
      expect(summary.parked).toEqual([Number((await letters()).at(-1)?.['id'])]);
      expect((await letters()).at(-1)).toMatchObject({ status: 'parked' });
      // One attempt per round (the first delivery and two replays); the parked letter sends nothing.
      await sleep(500);
      expect(hook.received.map((request) => request.status)).toEqual([400, 400, 400]);
      expect(await rows(`SELECT status FROM webhook_deliveries WHERE endpoint_id = $1`, [endpoint.id])).toEqual([{ status: 'dead' }]);
    } finally {
      await hook.close();
    }
  });

  it('a message that keeps failing is parked after DLQ_MAX_REPLAYS replays; resolve closes a letter with who and why', async () => {
    await producer.send({ topic, acks: -1, messages: [{ key: 'broken', value: '{"eventId": "not json' }] });
    const poison = async (): Promise<Array<Record<string, unknown>>> =>
      rows(`SELECT id, status, replay_count, exception_class FROM dead_letters WHERE message_key = 'broken' ORDER BY id`);
    await waitFor(async () => (await poison()).length === 1, 'the first dead letter');
    expect((await poison())[0]).toMatchObject({ exception_class: 'InvalidJsonError', replay_count: 0 });

    // Each replay fails again and comes back as a new letter that carries the replay count.
    for (let round = 1; round <= 2; round += 1) {
      const replay = await cli('dlq', 'replay', '--error', 'InvalidJson', '--reason', `round ${round}`);
      expect(replay.code).toBe(0);
      await waitFor(async () => (await poison()).length === round + 1, `letter ${round + 1}`);
    }
    expect((await poison()).map((row) => [row['status'], row['replay_count']])).toEqual([
      ['replayed', 1],
      ['replayed', 2],
      ['open', 2],
    ]);
    const parked = await cli('dlq', 'replay', '--error', 'InvalidJson', '--reason', 'round 3', '--json');
    const summary = JSON.parse(parked.stdout) as { replayed: number[]; parked: number[] };
    expect(summary.replayed).toEqual([]);
    expect(summary.parked).toHaveLength(1);
    const last = summary.parked[0]!;
    expect((await poison()).at(-1)).toMatchObject({ id: String(last), status: 'parked' });

    const resolved = await cli('dlq', 'resolve', String(last), '--note', 'producer bug fixed; event re-sent by hand', '--by', 'alice');
    expect(resolved.code).toBe(0);
    const shown = JSON.parse((await cli('dlq', 'show', String(last), '--json')).stdout) as {
      status: string;
      resolvedBy: string;
      audit: Array<{ action: string; actor: string; reason: string }>;
    };
    expect(shown.status).toBe('resolved');
    expect(shown.audit.map((entry) => [entry.action, entry.actor, entry.reason])).toEqual([
      ['park', 'ops-test', 'round 3'],
      ['resolve', 'alice', 'producer bug fixed; event re-sent by hand'],
    ]);
  });

  it('errors are one line on stderr with a non-zero exit', async () => {
    const missing = await cliProcess('dlq', 'show', '999999');
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe('settle-ops: dead letter 999999 was not found\n');
    const noReason = await cliProcess('dlq', 'replay');
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toBe('settle-ops: --reason is required: say why these messages are replayed (it is audited)\n');
    const badRole = await cliProcess('token', '--role', 'admin', '--id', 'x');
    expect(badRole.code).toBe(2);
    expect(badRole.stderr.trim().split('\n')).toHaveLength(1);
    expect(badRole.stderr).toContain("'admin' is invalid");
    const unknown = await cliProcess('dlq', 'frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    const again = await cliProcess('dlq', 'resolve', '1', '--note', 'x');
    expect(again.code).toBe(0);
    const twice = await cliProcess('dlq', 'resolve', '1', '--note', 'x');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^settle-ops: dead letter 1 was already resolved by ops-test\n$/);
  }, 180_000); // six process starts, each loading the CLI through tsx: room for 2 busy cores

  it('token prints a dev JWT the notifier accepts', async () => {
    const printed = await cliProcess('token', '--role', 'merchant', '--id', 'm-token');
    expect(printed.code).toBe(0);
    const token = printed.stdout.trim();
    const client = connectNotifier({
      url: `http://127.0.0.1:${notifier.port}`,
      token,
      socketOptions: { reconnection: false, forceNew: true },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        client.socket.once('synced', () => resolve());
        client.socket.once('connect_error', reject);
      });
    } finally {
      client.close();
    }
  });
});
