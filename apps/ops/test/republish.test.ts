import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@settle/domain';
import { createKafka, headersAsText } from '@settle/kafka';
import { useTestDatabase, createTestTopics, testStack, uniqueSuffix, walkSellOrder, sleep, waitFor } from '@settle/testkit';
import { cliEnv, runCliInProcess } from './run-cli';

describe('settle-ops outbox republish', () => {
  const database = useTestDatabase('republish', { max: 3 });
  let topic: string;
  let env: NodeJS.ProcessEnv;
  const orders: string[] = [];

  beforeAll(async () => {
    ({ events: topic = '' } = await createTestTopics('republish', [{ name: 'events', numPartitions: 3 }]));
    env = cliEnv(database.url, { ORDER_EVENTS_TOPIC: topic, LOG_LEVEL: 'error', SETTLE_OPS_USER: 'ops-tester' });
    for (let index = 0; index < 2; index += 1) {
      const n = uniqueSuffix();
      const user: Actor = { role: 'user', id: `u-${n}` };
      const merchant: Actor = { role: 'merchant', id: `m-${n}` };
      const [created] = await walkSellOrder(database.pool, { user, merchant, label: `rp-${n}`, until: 'escrowed' });
      orders.push(created!.id);
    }
  });

  async function read(expected: number) {
    const consumer = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'republish-test' }).consumer({
      groupId: `republish-${uniqueSuffix()}`,
      maxWaitTimeInMs: 100,
    });
    const seen: { key: string; value: string; headers: Record<string, string> }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) =>
        void seen.push({ key: String(message.key), value: String(message.value), headers: headersAsText(message.headers) }),
    });
    await waitFor(() => seen.length >= expected, `${expected} messages on ${topic}`);
    await sleep(300);
    await consumer.disconnect();
    return seen;
  }

  it('a dry run counts and sends nothing; --reason is required otherwise', async () => {
    const dry = await runCliInProcess(env, ['outbox', 'republish', '--since', '1h', '--dry-run']);
    expect(dry).toMatchObject({
      code: 0,
      stdout: `dry run: 6 events would be re-sent to ${topic}; run again without --dry-run and with --reason "…"\n`,
    });
    const refused = await runCliInProcess(env, ['outbox', 'republish', '--since', '1h']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--reason is required/);
    expect(Number((await database.pool.query<{ n: string }>('SELECT count(*) AS n FROM republish_runs')).rows[0]?.n)).toBe(0);
  });

  it("re-sends one order's events with their keys, ids and contract headers, marked re-published, and audits the run", async () => {
    const result = await runCliInProcess(env, [
      'outbox',
      'republish',
      '--since',
      '1h',
      '--order',
      orders[0]!,
      '--reason',
      'ledger recovery',
      '--rate',
      '100/s',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { runId: string; sent: number };
    expect(summary.sent).toBe(3);
    const stored = (
      await database.pool.query<{ id: string; order_version: number; payload: string }>(
        'SELECT id, order_version, payload::text AS payload FROM order_events WHERE order_id = $1 ORDER BY order_version',
        [orders[0]],
      )
    ).rows;
    const messages = await read(3);
    expect(messages.map((message) => message.headers['id'])).toEqual(stored.map((row) => row.id));
    for (const [index, message] of messages.entries()) {
      expect(message.key).toBe(orders[0]);
      expect(message.value).toBe(stored[index]!.payload);
      expect(message.headers).toMatchObject({
        'settle-republished': summary.runId,
        ce_id: stored[index]!.id,
        orderVersion: String(stored[index]!.order_version),
        ce_source: '/settle/orders',
        actorRole: expect.any(String),
        orderNumber: expect.stringMatching(/^BM-/),
      });
      expect(message.headers['ce_type']).toMatch(/^settle\.order\.[a-z_]+\.v1$/);
      expect(message.headers).not.toHaveProperty('commitLsn');
    }
    const audit = (
      await database.pool.query('SELECT requested_by, reason, total, sent, order_id, finished_at FROM republish_runs WHERE id = $1', [
        summary.runId,
      ])
    ).rows[0];
    expect(audit).toMatchObject({ requested_by: 'ops-tester', reason: 'ledger recovery', total: 3, sent: 3, order_id: orders[0] });
    expect(audit?.finished_at).toBeInstanceOf(Date);
  });

  it('resumes an unfinished run of the same filter after its cursor instead of starting over', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const first = JSON.parse(
      (await runCliInProcess(env, ['outbox', 'republish', '--since', since, '--order', orders[1]!, '--reason', 'interrupted', '--json']))
        .stdout,
    ) as { runId: string };
    // As if the run had stopped after its first event: unfinished, cursor on version 1.
    await database.pool.query(
      `UPDATE republish_runs r SET finished_at = NULL, sent = 1, cursor_occurred_at = e.occurred_at, cursor_order_id = e.order_id, cursor_order_version = e.order_version
         FROM order_events e WHERE r.id = $1 AND e.order_id = $2 AND e.order_version = 1`,
      [first.runId, orders[1]],
    );
    const resumed = await runCliInProcess(env, ['outbox', 'republish', '--since', since, '--order', orders[1]!, '--reason', 'interrupted']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toBe(`re-sent 3 of 3 events to ${topic} (resumed an unfinished run); run ${first.runId}\n`);
    const messages = (await read(3 + 3 + 2)).filter((message) => message.key === orders[1]);
    expect(messages.map((message) => message.headers['orderVersion'])).toEqual(['1', '2', '3', '2', '3']);
  });
});
