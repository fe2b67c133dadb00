import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, expect } from 'vitest';
import { type Config, loadConfig, repoRoot } from '@settle/config';
import { type Pool, type PoolClient, type Queryable, setupRelaySlot } from '@settle/db';
import { createKafka } from '@settle/kafka';
import { createTestTopics, testStack, uniqueSuffix, useTestDatabase, waitFor } from '@settle/testkit';
import { type Relay, type StartRelayOptions, startRelay } from '../src/relay';

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

/** A slot name no other test file uses. */
export function uniqueSlot(prefix: string): string {
  return `${prefix}_${uniqueSuffix()}`;
}

/** The relay's config for a test: its own database, slot and topic, errors-only logs, fast heartbeats. */
export function relayConfig(env: Record<string, string>): Config {
  return loadConfig({ LOG_LEVEL: 'error', RELAY_HEARTBEAT_MS: '250', RELAY_STANDBY_POLL_MS: '250', ...env });
}

/** What a relay reads from in a test: a database, topics and (unless polling) a replication slot of the block's own. */
export interface RelaySource {
  readonly url: string;
  readonly pool: Pool;
  /** The topics by the names asked for. */
  topics: Record<string, string>;
  /** The first of them: the relay's ORDER_EVENTS_TOPIC. */
  topic: string;
  /** The replication slot's name (set up unless `withSlot` is false); also the relay's leader lock key. */
  slot: string;
}

export interface RelaySourceOptions {
  poolMax: number;
  /** @default one topic `orders` of `partitions` partitions */
  topics?: Array<{ name: string; numPartitions: number }>;
  /** @default 1 */
  partitions?: number;
  /** Whether to set up a replication slot (a polling relay, or a test making its own slots, needs none). @default true */
  withSlot?: boolean;
}

/**
 * In a describe block: a RelaySource named after `name`, made before its tests (the slot checked to be new) and
 * dropped after them. Its fields are filled by the block's beforeAll.
 */
export function useRelaySource(name: string, options: RelaySourceOptions): RelaySource {
  const database = useTestDatabase(name, { max: options.poolMax });
  const specs = options.topics ?? [{ name: 'orders', numPartitions: options.partitions ?? 1 }];
  const source: RelaySource = {
    get url() {
      return database.url;
    },
    get pool() {
      return database.pool;
    },
    topics: {},
    topic: '',
    slot: uniqueSlot(name),
  };
  beforeAll(async () => {
    source.topics = await createTestTopics(name, specs);
    source.topic = source.topics[specs[0]?.name ?? ''] ?? '';
    if (options.withSlot !== false) expect(await setupRelaySlot(database.pool, source.slot, 'settle_outbox_pub')).toBe('created');
  });
  return source;
}

/** The environment of a relay on `source` (its slot, or `slot`), on the shared test broker. */
export function relayEnv(source: RelaySource, slot = source.slot): Record<string, string> {
  return {
    DATABASE_URL: source.url,
    KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
    ORDER_EVENTS_TOPIC: source.topic,
    RELAY_SLOT: slot,
  };
}

/** Starts a relay in this process on `source`, with `env` over relayEnv(source). @default port null (no ops server) */
export function startTestRelay(
  source: RelaySource,
  env: Record<string, string>,
  options: Omit<StartRelayOptions, 'config'> = {},
): Promise<Relay> {
  return startRelay({ port: null, ...options, config: relayConfig({ ...relayEnv(source), ...env }) });
}

/** A RelaySource with a relay started on it. */
export interface TestRelay extends RelaySource {
  relay: Relay;
}

/**
 * In a describe block: a relay in this process on a RelaySource of its own (polling, without a slot, when `env`
 * says RELAY_MODE=poll), streaming before the block's tests and stopped after them. `env` may read the topics.
 */
export function useRelay(
  name: string,
  options: Omit<RelaySourceOptions, 'withSlot'> & {
    env?: Record<string, string> | ((topics: Record<string, string>) => Record<string, string>);
    start?: Omit<StartRelayOptions, 'config'>;
  },
): TestRelay {
  const env = (topics: Record<string, string>): Record<string, string> =>
    typeof options.env === 'function' ? options.env(topics) : (options.env ?? {});
  const polling = typeof options.env === 'object' && options.env['RELAY_MODE'] === 'poll';
  const fixture = useRelaySource(name, { ...options, withSlot: !polling }) as TestRelay;
  beforeAll(async () => {
    const relay = await startTestRelay(fixture, env(fixture.topics), options.start);
    fixture.relay = relay;
    await waitFor(() => relay.status().streaming, 'the relay to stream');
  });
  afterAll(async () => {
    // Unset when the beforeAll failed.
    await (fixture.relay as Relay | undefined)?.stop();
  });
  return fixture;
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
function firstOccurrenceVersions(messages: Consumed[]): Map<string, number[]> {
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
function isOneToN(values: number[]): boolean {
  return values.every((value, index) => value === index + 1);
}

/** Asserts that each key's versions reached Kafka as 1, 2, …, n (counting each message's first occurrence). */
export function expectVersionsInOrder(messages: Consumed[]): void {
  for (const [key, versions] of firstOccurrenceVersions(messages)) {
    expect(isOneToN(versions), `versions of ${key}: ${versions.join(',')}`).toBe(true);
  }
}

/** Asserts that every id of `ids` is in Kafka. */
export function expectAllInKafka(ids: Iterable<string>, messages: Consumed[]): void {
  const inKafka = new Set(messages.map((message) => message.id));
  expect([...ids].filter((id) => !inKafka.has(id))).toEqual([]);
}
