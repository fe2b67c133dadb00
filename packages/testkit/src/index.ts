import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { sleep } from '@settle/backoff';
import { createPool, type Pool, type PoolOptions } from '@settle/db';
import { createKafka, ensureTopics, type TopicSpec } from '@settle/kafka';
import { withDatabase } from '@settle/stack';

export { sleep } from '@settle/backoff';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the test cluster's `postgres` database. */
    adminDatabaseUrl: string;
    /** The migrated database every test database is copied from. */
    templateDatabase: string;
    kafkaBrokers: string[];
  }
}

/** The test stack started once by tests/global-setup.ts. */
export function testStack(): { adminDatabaseUrl: string; kafkaBrokers: string[] } {
  return { adminDatabaseUrl: inject('adminDatabaseUrl'), kafkaBrokers: inject('kafkaBrokers') };
}

/** The advisory lock key of the whole-system tests (any constant: only these files take it). */
const WHOLE_SYSTEM_LOCK = 7_461_001;

/**
 * For a test file that starts whole systems of its own (every app, its own Postgres and Kafka) and kills or
 * restarts parts of them: waits until no other such file runs (an advisory lock on the shared test cluster) and
 * returns the release. On 2 cores, two of them at once starve each other's timers and restarts into flakiness.
 */
export async function exclusiveWholeSystem(): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: inject('adminDatabaseUrl'), application_name: 'settle-test-system-lock' });
  await client.connect();
  await client.query('SELECT pg_advisory_lock($1)', [WHOLE_SYSTEM_LOCK]);
  return async () => {
    await client.query('SELECT pg_advisory_unlock($1)', [WHOLE_SYSTEM_LOCK]).catch(() => undefined);
    await client.end().catch(() => undefined);
  };
}

/** In a describe block: holds exclusiveWholeSystem() from before its first test until after its last. */
export function runAlone(): void {
  let release: (() => Promise<void>) | undefined;
  // Waiting for the other whole-system files may take their whole run.
  beforeAll(async () => {
    release = await exclusiveWholeSystem();
  }, 1_800_000);
  afterAll(async () => {
    await release?.();
  });
}

/**
 * Polls `check` until it holds (every 25 ms); after `timeoutMs` fails naming `what` (a function is evaluated then,
 * so the error can show the state at the timeout).
 */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(25);
  }
}

/** A short random suffix for names that must not collide between test files. */
export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database (and any replication slot left on it). */
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own, copied from the template. */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const admin = inject('adminDatabaseUrl');
  const template = inject('templateDatabase');
  const name = `${prefix}_${uniqueSuffix()}`;
  await withAdmin(admin, async (client) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE ${client.escapeIdentifier(template)}`);
        return;
      } catch (error) {
        // Two files copying the template at the same instant can collide; retrying is enough.
        if (attempt >= 20 || !String(error).includes('being accessed by other users')) throw error;
        await sleep(100 + Math.random() * 200);
      }
    }
  });
  return {
    name,
    url: withDatabase(admin, name),
    drop: () =>
      withAdmin(admin, async (client) => {
        await client.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [
          name,
        ]);
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      }),
  };
}

/** The database useTestDatabase opens: read it in hooks and tests, not while the file loads. */
export interface FileDatabase {
  readonly name: string;
  readonly url: string;
  /** A pool on the database (`poolOptions` of useTestDatabase). */
  readonly pool: Pool;
}

/**
 * In a test file or describe block: a database of its own (createTestDatabase) with a pool on it, opened before
 * its tests and closed (pool ended, database dropped) after them. Vitest runs after-hooks in reverse order, so a
 * service a later hook starts on this database is stopped before the pool ends.
 */
export function useTestDatabase(prefix: string, poolOptions: PoolOptions = {}): FileDatabase {
  let opened: { db: TestDatabase; pool: Pool } | undefined;
  beforeAll(async () => {
    const db = await createTestDatabase(prefix);
    opened = { db, pool: createPool(db.url, poolOptions) };
  });
  afterAll(async () => {
    await opened?.pool.end();
    await opened?.db.drop();
  });
  const current = (): { db: TestDatabase; pool: Pool } => {
    if (opened === undefined) throw new Error(`useTestDatabase('${prefix}') is read before its beforeAll opened it`);
    return opened;
  };
  return {
    get name() {
      return current().db.name;
    },
    get url() {
      return current().db.url;
    },
    get pool() {
      return current().pool;
    },
  };
}

/**
 * Topic names of this test file's own, created on the test broker. Retried: when several files create topics at the
 * same instant the broker sometimes answers the leader wait with "does not host this topic-partition" for a moment.
 */
export async function createTestTopics(
  prefix: string,
  specs: Array<Omit<TopicSpec, 'topic'> & { name: string }>,
): Promise<Record<string, string>> {
  const suffix = uniqueSuffix();
  const names = Object.fromEntries(specs.map((spec) => [spec.name, `${prefix}.${suffix}.${spec.name}`]));
  const kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'settle-test-admin' });
  const topics = specs.map((spec) => ({ topic: names[spec.name] ?? spec.name, numPartitions: spec.numPartitions ?? 3 }));
  for (let attempt = 1; ; attempt += 1) {
    try {
      await ensureTopics(kafka, topics);
      return names;
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(500 * attempt);
    }
  }
}

async function withAdmin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
export { callApi, callApiOk } from './api-client';
export type { ApiAnswer } from './api-client';
export { testAddress, testTxHash } from './chain-fixtures';
export { importLegacyOrder } from './legacy-import';
export type { LegacyOrder } from './legacy-import';
export { orderCreatedEvent } from './order-events';
export { buyOrderBody, walkSellOrder } from './orders';
export type { SellOrderStage, SellOrderWalk } from './orders';
export { startWebhookReceiver } from './webhook-receiver';
export type { ReceivedWebhook, WebhookReceiver } from './webhook-receiver';
