/**
 * The pgbench baseline's script, made from the API's own statements: one order cycle (create → accept →
 * escrow → paid → release) is run through packages/db's write path while every query it sends is recorded;
 * each recorded statement becomes a pgbench command with the same SQL text and the same parameter values
 * (pgbench variables, so Postgres binds and converts them as it does for the API), except the values that
 * must differ per cycle (order id and number, event ids, tx hashes, Idempotency-Key: expressions of the
 * cycle's random `:n`) and the event payload (a real event of the same size, `-D payload=`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { applyTransition, createOrderRecord, type Pool, type PoolClient } from '@settle/db';
import type { Actor, Command } from '@settle/domain';

/** The accepting merchant's wallet in every cycle (a valid Tron address). */
export const BENCH_WALLET = 'TXora7GwjJtYkm8MZ3W3W68yYfg5rqDEXg';

interface Recorded {
  name: string;
  text: string;
  values: unknown[];
}

/** A pool whose connections record every named statement they run. */
function recordingPool(pool: Pool, recorded: Recorded[]): Pool {
  const connect = async (): Promise<PoolClient> => {
    const client = await pool.connect();
    return new Proxy(client, {
      get(target, key, receiver) {
        if (key !== 'query') return Reflect.get(target, key, receiver) as unknown;
        return (query: Recorded) => {
          recorded.push(query);
          return target.query(query);
        };
      },
    });
  };
  return { connect } as unknown as Pool;
}

/** The pgbench script of one cycle, as the API's write path runs it for these parties. */
export async function pgbenchScript(
  pool: Pool,
  parties: { user: string; merchant: string },
): Promise<{ script: string; variables: Record<string, string> }> {
  const recorded: Recorded[] = [];
  const recording = recordingPool(pool, recorded);
  const user: Actor = { role: 'user', id: parties.user };
  const merchant: Actor = { role: 'merchant', id: parties.merchant };
  const tag = randomUUID().replaceAll('-', '');
  // Tron's canonical form (64 lower-case hex), derived from the cycle's number like pgbench's expressions below.
  const escrowHash = createHash('sha256').update(`e${tag}`).digest('hex');
  const releaseHash = createHash('sha256').update(`r${tag}`).digest('hex');
  const key = `bench-${tag}`;
  const created = await createOrderRecord(
    recording,
    {
      type: 'sell',
      merchantId: parties.merchant,
      cryptoAmount: '100',
      cryptoCurrency: 'USDT',
      fiatAmount: '367.25',
      fiatCurrency: 'AED',
      rate: '3.6725',
      paymentMethod: 'upi',
    },
    user,
  );
  if (created.kind !== 'applied') throw new Error('the recorded create did not apply');
  const order = created.order;
  const steps: Array<[Command, Actor, { key: string; requestHash: string }?]> = [
    [{ action: 'accept', walletAddress: BENCH_WALLET }, merchant],
    [{ action: 'lock_escrow', txHash: escrowHash }, user],
    [{ action: 'mark_paid' }, merchant],
    [{ action: 'confirm_and_release', txHash: releaseHash }, user, { key, requestHash: 'b'.repeat(64) }],
  ];
  for (const [command, actor, idempotency] of steps) {
    const result = await applyTransition(recording, { orderId: order.id, command, actor, idempotency });
    if (result.kind !== 'applied') throw new Error(`the recorded ${command.action} did not apply`);
  }

  // Values that must be new in every cycle become expressions of the cycle's random :n.
  const perCycle = new Map<string, string>([
    [order.id, `md5(:n::text)::uuid`],
    [
      order.orderNumber,
      `'BM-' || to_char(now(), 'YYMMDD') || '-' || upper(translate(substr(encode(sha256(convert_to(:n::text, 'UTF8')), 'base64'), 1, 8), '+/', 'XY'))`,
    ],
    [escrowHash, `encode(sha256(convert_to('e' || :n::text, 'UTF8')), 'hex')`],
    [releaseHash, `encode(sha256(convert_to('r' || :n::text, 'UTF8')), 'hex')`],
    [key, `'bench-' || :n::text`],
  ]);
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  // Every other value stays a parameter, as the API sends it: a pgbench variable (`-D vN=value`).
  const variables: Record<string, string> = {};
  const names = new Map<string, string>();
  const variable = (text: string): string => {
    let name = names.get(text);
    if (name === undefined) {
      name = `v${names.size}`;
      names.set(text, name);
      variables[name] = text;
    }
    return `:${name}`;
  };
  const textOf = (value: unknown): string =>
    typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : JSON.stringify(value);
  function parameter(value: unknown): string {
    if (value === null || value === undefined) return 'NULL';
    if (Array.isArray(value)) {
      if (value.some((item) => perCycle.has(textOf(item)))) return `ARRAY[${value.map(parameter).join(', ')}]`;
      return variable(`{${value.map((item) => `"${textOf(item)}"`).join(',')}}`);
    }
    const text = textOf(value);
    const expression = perCycle.get(text);
    if (expression !== undefined) return `(${expression})`;
    if (uuid.test(text)) return '(gen_random_uuid())';
    // The event (and a response body, which is an order view of the same size): the real payload.
    if (text.startsWith('{') && text.length > 500) return ':payload';
    return variable(text);
  }
  const commands = recorded.map(
    (query) =>
      `${query.text.replace(/\$(\d+)\b/g, (_, index: string) => parameter(query.values[Number(index) - 1])).replace(/\s*\n\s*/g, ' ')};`,
  );
  return {
    script: [
      '-- generated by bench/api/cycle.ts from the statements packages/db sent for one cycle',
      '\\set n random(1, 1000000000000000)',
      ...commands,
      '',
    ].join('\n'),
    variables,
  };
}
