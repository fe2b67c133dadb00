import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Consumer } from 'kafkajs';
import { type Config, loadConfig, repoRoot } from '@settle/config';
import type { Pool, PoolClient, Queryable } from '@settle/db';
import { createKafka } from '@settle/kafka';
import { uniqueSuffix } from '@settle/testkit';

/** A message as a downstream consumer sees it. */
export interface Consumed {
  id: string;
  key: string;
  topic: string;
  partition: number;
  offset: string;
  value: string;
  headers: Record<string, string>;
}

/** A written outbox row, as the test remembers it. */
export interface Written {
  id: string;
  aggregateid: string;
  aggregatetype: string;
  type: string;
  version: number;
  payload: Record<string, unknown>;
}

/** The test file's own topics (testkit createTestTopics, which retries a broker still electing leaders). */
export { createTestTopics as createTopics } from '@settle/testkit';

/** A slot name no other test file uses. */
export function uniqueSlot(prefix: string): string {
  return `${prefix}_${uniqueSuffix()}`;
}

/** The relay's config for a test: its own database, slot and topic, errors-only logs, fast heartbeats. */
export function relayConfig(env: Record<string, string>): Config {
  return loadConfig({ LOG_LEVEL: 'error', RELAY_HEARTBEAT_MS: '250', RELAY_STANDBY_POLL_MS: '250', ...env });
}

/** Inserts one outbox row on `client` (inside the caller's transaction, if any). */
export async function insertOutbox(
  client: Queryable,
  row: { aggregateid: string; version: number; aggregatetype?: string; type?: string; extra?: Record<string, unknown> },
): Promise<Written> {
  const written: Written = {
    id: randomUUID(),
    aggregateid: row.aggregateid,
    aggregatetype: row.aggregatetype ?? 'order',
    type: row.type ?? 'order.updated',
    version: row.version,
    payload: { orderId: row.aggregateid, orderVersion: row.version, note: 'ä €', ...row.extra },
  };
  await client.query(
    `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, order_version) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      written.id,
      written.aggregatetype,
      written.aggregateid,
      written.type,
      JSON.stringify(written.payload),
      JSON.stringify({ traceparent: `00-${written.id}` }),
      written.version,
    ],
  );
  return written;
}

/** Commits one transaction of rows for `keys`, each at its next version. */
export async function commitRows(pool: Pool, keys: string[], versions: Map<string, number>, aggregatetype = 'order'): Promise<Written[]> {
  const client: PoolClient = await pool.connect();
  try {
    await client.query('BEGIN');
    const rows: Written[] = [];
    for (const key of keys) {
      const version = (versions.get(key) ?? 0) + 1;
      rows.push(await insertOutbox(client, { aggregateid: key, version, aggregatetype }));
      versions.set(key, version);
    }
    await client.query('COMMIT');
    return rows;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A consumer reading `topics` from the beginning into `messages` until `stop`. */
export async function startCollecting(brokers: string[], topics: string[]): Promise<{ messages: Consumed[]; stop(): Promise<void> }> {
  const kafka = createKafka({ brokers, clientId: 'relay-test-consumer' });
  const consumer: Consumer = kafka.consumer({ groupId: `relay-test-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const messages: Consumed[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        messages.push({
          id: headers['id'] ?? '',
          key: String(message.key),
          topic: batch.topic,
          partition: batch.partition,
          offset: message.offset,
          value: String(message.value),
          headers,
        });
      }
    },
  });
  return { messages, stop: () => consumer.disconnect() };
}

export { waitFor } from '@settle/testkit';

/** GET a relay ops endpoint. */
export async function probe(port: number, route: '/health' | '/ready' | '/metrics'): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${route}`);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

/** The value of a metric line (without labels, or with the exact label set given). */
export function metricValue(metrics: string, name: string, labels = ''): number | undefined {
  const line = metrics
    .split('\n')
    .find((candidate) => candidate.startsWith(`${name}${labels} `) || candidate.startsWith(`${name}{${labels.replace(/^\{|\}$/g, '')}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** The slot's confirmed_flush_lsn as text. */
export async function confirmedFlush(db: Queryable, slot: string): Promise<string | null> {
  const { rows } = await db.query<{ lsn: string | null }>(
    `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  return rows[0]?.lsn ?? null;
}

export interface RelayProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  output: string[];
  exited: Promise<number | null>;
}

/** Runs the relay as its own process (`node --import tsx apps/relay/src/main.ts`), as `npm start` does. */
export function spawnRelay(env: Record<string, string>, port: number): RelayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'apps/relay/src/main.ts')], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      LOG_LEVEL: 'info',
      RELAY_HEARTBEAT_MS: '250',
      RELAY_STANDBY_POLL_MS: '250',
      ...env,
      RELAY_PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      output.push(chunk);
      if (output.length > 400) output.splice(0, 100);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (child.pid === undefined) throw new Error('could not spawn the relay');
  return { child, pid: child.pid, port, output, exited };
}

/** Per key, the versions in the order Kafka holds them, keeping only each message's first occurrence. */
export function firstOccurrenceVersions(messages: Consumed[]): Map<string, number[]> {
  const seen = new Set<string>();
  const byKey = new Map<string, number[]>();
  const ordered = [...messages].sort(
    (a, b) => (a.topic + a.partition).localeCompare(b.topic + b.partition) || Number(BigInt(a.offset) - BigInt(b.offset)),
  );
  for (const message of ordered) {
    if (seen.has(message.id)) continue;
    seen.add(message.id);
    const versions = byKey.get(message.key) ?? [];
    versions.push(Number(message.headers['orderVersion']));
    byKey.set(message.key, versions);
  }
  return byKey;
}

/** True when `values` is 1, 2, …, n. */
export function isOneToN(values: number[]): boolean {
  return values.every((value, index) => value === index + 1);
}
