/**
 * Debezium 3.6.1.Final embedded as bench:relay's second baseline: the same outbox table, publication, Postgres and
 * Kafka as our relay, relayed by Debezium's Postgres connector (pgoutput) and its outbox EventRouter into a Kafka
 * producer with acks=all and idempotence (bench/relay/debezium/…/DebeziumRelay.java, which commits offsets only
 * after Kafka acknowledged, as Debezium Server's Kafka sink does).
 *
 * The jars (bench/relay/debezium/pom.xml) are fetched into ~/.cache/settle once and the Java source compiled there
 * once, keyed by the hash of pom and source; later runs start java straight away.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '@settle/config';
import type { Queryable } from '@settle/db';
import { defaultCacheDir, ensureMavenJars, guardChild, waitForExit } from '@settle/stack';
import { waitFor } from '@settle/testkit';

const PROJECT = path.join(repoRoot, 'bench', 'relay', 'debezium');
const POM = path.join(PROJECT, 'pom.xml');
const SOURCE = path.join(PROJECT, 'src', 'dev', 'settle', 'bench', 'DebeziumRelay.java');
const MAIN_CLASS = 'dev.settle.bench.DebeziumRelay';
/** Printed by DebeziumRelay.java once the connector streams from the slot. */
const STREAMING = 'debezium-relay: streaming';
const STDERR_TAIL = 40;

/** Debezium's own defaults (poll.interval.ms 500, max.batch.size 2048, max.queue.size 8192): the "defaults" run. */
export const DEBEZIUM_DEFAULTS: Record<string, string> = {};
/** The run tuned for latency: the connector hands batches to the sink every 20 ms instead of every 500 ms. */
export const DEBEZIUM_LOW_LATENCY: Record<string, string> = { 'poll.interval.ms': '20' };

/**
 * Heap for the Debezium JVM, which holds at most max.queue.size records (8,192 by default) plus the producer's
 * buffer (32 MB). The JIT is left at HotSpot's default (tiered, C2 included), as Debezium runs in production.
 */
const JVM_FLAGS = ['-Xms256m', '-Xmx512m', '-Djava.awt.headless=true', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn'];

export interface DebeziumOptions {
  /** A URL of the database that holds the outbox; Debezium connects over TCP to its host and port (JDBC cannot use its `?host=` socket). */
  databaseUrl: string;
  brokers: string[];
  /**
   * EventRouter's route.topic.replacement: a topic name, which may contain `${routedByValue}` (the row's aggregatetype).
   * Create the topics first, with the bench's partition count: Kafka would auto-create them with its default of 1.
   */
  topic: string;
  /** The logical replication slot to stream from; created by Debezium when missing (then at the current WAL position). */
  slot: string;
  /** An existing publication on the outbox (Debezium does not create or alter it). */
  publication: string;
  /**
   * Debezium properties, e.g. `poll.interval.ms`, `max.batch.size`, `max.queue.size`, `offset.flush.interval.ms`;
   * keys starting with `producer.` configure the Kafka producer (e.g. `producer.linger.ms`). They override the
   * defaults set here.
   */
  settings: Record<string, string>;
  /** One line per step of the start (fetch, compile, start). */
  onProgress?: (line: string) => void;
  /** Debezium's and Kafka's warnings and errors (the JVM's stderr), line by line. @default discarded (the last lines are kept for errors) */
  onLog?: (line: string) => void;
  /** How long to wait for the streaming marker. @default 120000 */
  startTimeoutMs?: number;
  /** Replaces the JVM flags. @default -Xms256m -Xmx512m, default JIT */
  jvmFlags?: string[];
}

export interface RunningDebezium {
  /** The java process, for reading its CPU time from /proc. */
  pid: number;
  /**
   * Stops Debezium (it commits its offsets and closes the producer). Keeps the slot and the offsets, so a later start on
   * the same slot resumes after the last event Kafka acknowledged, as a restarted Debezium does (dropDebeziumSlot drops
   * both). Rejects when Debezium had exited by itself, with its last stderr lines.
   */
  stop(): Promise<void>;
  /** Why Debezium exited by itself after it started streaming, or undefined while it runs. */
  failure(): Error | undefined;
}

/** Starts Debezium embedded and resolves once it streams from the slot: every row committed from then on is relayed. */
export async function startDebezium(options: DebeziumOptions): Promise<RunningDebezium> {
  const progress = options.onProgress ?? (() => undefined);
  const classpath = await ensureDebezium(progress);
  const url = new URL(options.databaseUrl);
  const offsets = offsetsFile(url.port || '5432', decodeURIComponent(url.pathname.slice(1)), options.slot);
  await fs.mkdir(path.dirname(offsets), { recursive: true });
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-debezium-'));
  const propertiesFile = path.join(scratch, 'debezium.properties');
  await fs.writeFile(propertiesFile, propertiesText(options, url, offsets), { mode: 0o600 });
  const args = [...(options.jvmFlags ?? JVM_FLAGS), '-cp', classpath, MAIN_CLASS, propertiesFile];

  // Its own process group, like the broker: a Ctrl-C to the bench must not stop it before the bench's own stop().
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn java for Debezium');
  guardChild(pid);

  const tail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    tail.push(line);
    if (tail.length > STDERR_TAIL) tail.shift();
    options.onLog?.(line);
  });
  let stopping = false;
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal === null ? `exit code ${code}` : `signal ${signal}`;
      resolve();
    });
  });
  const crash = (when: string): Error => new Error(`Debezium ${when} (${exit ?? 'still running'}): ${telling(tail) || 'no stderr'}`);

  const started = Date.now();
  const streaming = new Promise<boolean>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === STREAMING) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const outcome = await Promise.race([streaming, sleep(timeoutMs, 'timeout' as const, { ref: false })]);
  // java has read its properties by now (they hold the password): nothing else needs them.
  await fs.rm(scratch, { recursive: true, force: true });
  if (outcome !== true) {
    child.kill('SIGKILL');
    await exited;
    throw crash(outcome === 'timeout' ? `did not start streaming within ${timeoutMs} ms` : 'exited before it streamed');
  }
  progress(`debezium: streaming from slot ${options.slot} (pid ${pid}) ${Date.now() - started} ms after java started`);

  return {
    pid,
    failure: () => (exit !== undefined && !stopping ? crash('exited while streaming') : undefined),
    async stop() {
      const failed = exit !== undefined && !stopping ? crash('exited while streaming') : undefined;
      stopping = true;
      if (exit === undefined) {
        child.kill('SIGTERM');
        if (!(await waitForExit(pid, 30_000))) child.kill('SIGKILL');
        await exited;
      }
      if (failed !== undefined) throw failed;
    },
  };
}

/** The lines of a stderr tail that say what went wrong (our own, errors, causes), rather than the last stack frames. */
function telling(tail: string[]): string {
  const reasons = tail.filter((line) => line.startsWith('debezium-relay:') || line.startsWith('Caused by:') || / ERROR /.test(line));
  return (reasons.length > 0 ? reasons.slice(-6) : tail.slice(-8)).join(' | ');
}

/**
 * Drops Debezium's slot and its offsets once its java process is gone (`db` is a connection to the slot's database);
 * waits up to 10 s while the walsender still holds the slot. Does nothing when neither exists.
 */
export async function dropDebeziumSlot(db: Queryable, slot: string): Promise<void> {
  // A stopped Debezium's connection may hold the slot a moment longer: it can be dropped once it is inactive.
  let exists = false;
  await waitFor(
    async () => {
      const found = await db.query<{ active: boolean }>(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
      const state = found.rows[0];
      exists = state !== undefined;
      return state === undefined || !state.active;
    },
    `replication slot ${slot} to be released after Debezium stopped`,
    10_000,
  );
  if (exists) await db.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
  const server = await db.query<{ port: string; database: string }>(
    `SELECT current_setting('port') AS port, current_database() AS database`,
  );
  const where = server.rows[0];
  if (where !== undefined) await fs.rm(offsetsFile(where.port, where.database, slot), { force: true });
}

/**
 * Where Debezium keeps its offsets for `slot`: one file per server port, database and slot, kept across stop and
 * start like a deployed Debezium's offset store, so a restart neither skips nor repeats events.
 */
function offsetsFile(port: string, database: string, slot: string): string {
  return path.join(os.tmpdir(), 'settle-debezium', `${port}-${database}-${slot}.offsets`);
}

/**
 * The jars (fetched once) and DebeziumRelay compiled once into ~/.cache/settle, keyed by the hash of pom and
 * source. Returns the java classpath.
 */
export async function ensureDebezium(progress: (line: string) => void = () => undefined): Promise<string> {
  const libs = await ensureMavenJars({
    pom: POM,
    name: 'debezium',
    jars: 'the Debezium jars (the baseline of bench:relay)',
    onProgress: (line) => progress(`debezium: ${line}`),
  });
  const hash = createHash('sha256')
    .update(await fs.readFile(POM))
    .update(await fs.readFile(SOURCE))
    .digest('hex')
    .slice(0, 12);
  const classes = path.join(defaultCacheDir(), `debezium-relay-${hash}`);
  if (!existsSync(path.join(classes, '.complete'))) {
    progress('debezium: compiling DebeziumRelay.java (first run only)…');
    const staging = `${classes}.tmp-${process.pid}`;
    await fs.rm(staging, { recursive: true, force: true });
    const javac = spawnSync('javac', ['-d', staging, '-cp', path.join(libs, '*'), SOURCE], { encoding: 'utf8' });
    if (javac.error !== undefined || javac.status !== 0) {
      throw new Error(`javac could not compile ${SOURCE}: ${(javac.stderr || String(javac.error)).trim()}`, { cause: javac.error });
    }
    await fs.writeFile(path.join(staging, '.complete'), new Date().toISOString());
    await fs.rm(classes, { recursive: true, force: true });
    await fs.rename(staging, classes);
  }
  return `${classes}${path.delimiter}${path.join(libs, '*')}`;
}

/** The connector, outbox router and producer settings as DebeziumRelay's properties file; `settings` override them. */
function propertiesText(options: DebeziumOptions, url: URL, offsets: string): string {
  const properties: Record<string, string> = {
    name: 'settle-bench-debezium',
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'topic.prefix': 'settle_bench',
    'offset.storage': 'org.apache.kafka.connect.storage.FileOffsetBackingStore',
    'offset.storage.file.filename': offsets,
    'database.hostname': url.hostname || '127.0.0.1',
    'database.port': url.port || '5432',
    'database.user': decodeURIComponent(url.username),
    'database.password': decodeURIComponent(url.password),
    'database.dbname': decodeURIComponent(url.pathname.slice(1)),
    'plugin.name': 'pgoutput',
    'slot.name': options.slot,
    'publication.name': options.publication,
    'publication.autocreate.mode': 'disabled',
    'table.include.list': 'public.outbox',
    // Stream only: no initial read of the table; a pre-created slot streams from its confirmed position.
    'snapshot.mode': 'no_data',
    transforms: 'outbox',
    'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
    'transforms.outbox.table.field.event.id': 'id',
    'transforms.outbox.table.field.event.key': 'aggregateid',
    'transforms.outbox.table.field.event.payload': 'payload',
    'transforms.outbox.route.by.field': 'aggregatetype',
    'transforms.outbox.route.topic.replacement': options.topic,
    // The event id travels as header `id` (EventRouter's default); type and order_version as headers too, as our relay sends them;
    // aggregatetype and created_at for the launcher to write the CloudEvents headers our relay writes (DebeziumRelay.java).
    'transforms.outbox.table.fields.additional.placement':
      'type:header:type,order_version:header:orderVersion,aggregatetype:header:aggregatetype,created_at:header:createdAt',
    'producer.bootstrap.servers': options.brokers.join(','),
    'producer.client.id': 'settle-bench-debezium',
    ...options.settings,
  };
  // java.util.Properties text: in values backslashes, line breaks and a leading blank are escaped; keys are plain names.
  const escape = (text: string): string =>
    text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\r', '\\r').replace(/^\s/, '\\$&');
  return Object.entries(properties)
    .map(([key, value]) => {
      if (!/^[\w.-]+$/.test(key)) throw new Error(`not a Debezium property name: ${JSON.stringify(key)}`);
      return `${key}=${escape(value)}\n`;
    })
    .join('');
}
