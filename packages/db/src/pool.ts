import pg from 'pg';
import { SettleError } from '@settle/domain';

// NUMERIC (1700) and BIGINT (20) stay strings: money is exact decimal, never a JS float.
pg.types.setTypeParser(1700, (value) => value);
pg.types.setTypeParser(20, (value) => value);

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that can run a query: a pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/**
 * A named statement: each pooled connection parses it once and, after a few runs, keeps one (generic) plan for it,
 * as pgbench -M prepared does. For statements run often whose plan does not depend on the values.
 */
export const named = (name: string, text: string, values: unknown[]): { name: string; text: string; values: unknown[] } => ({
  name: `settle_${name}`,
  text,
  values,
});

export interface PoolOptions {
  /** @default 20 */
  max?: number;
  applicationName?: string;
  /** Idle connections are closed after this long; 0 keeps them (a new connection costs a backend start and SCRAM auth). @default 30000 */
  idleTimeoutMillis?: number;
}

/** Creates a pg pool; errors of idle clients are reported to `onError` instead of crashing the process. */
export function createPool(url: string, options: PoolOptions = {}, onError: (error: Error) => void = () => undefined): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 20,
    application_name: options.applicationName ?? 'settle',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
  });
  pool.on('error', onError);
  return pool;
}

/**
 * Runs `work` inside one transaction on a client of `pool`: COMMIT when it resolves, ROLLBACK when it throws
 * (the original error is rethrown). The client is passed so callers can enlist several writes.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Socket errors that mean the server cannot be reached or the connection to it was lost. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** SQLSTATEs of a server that is going away or not taking connections (57P01-03), or too full to (53300). */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/**
 * What pg and pg-pool say when a connection could not be made in time or died under a query; they carry no
 * code, so their fixed messages are the only signal.
 */
const LOST = /^(timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error)/;

/**
 * Whether `error` says Postgres is unreachable or went away (refused, no unix socket, admin shutdown, cannot
 * connect now, a 08xxx connection exception, a pool connect timeout, a connection lost mid-query) rather than
 * that a statement failed. Such a failure is temporary: the same request can succeed once the server is back.
 */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && (UNREACHABLE.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) return true;
  if (typeof message === 'string' && LOST.test(message)) return true;
  // A host name with several addresses fails with one error per address.
  return Array.isArray(errors) && errors.length > 0 && errors.every(isConnectionError);
}

/** A connection failure as SettleError('UNAVAILABLE') (retryable, HTTP 503), or undefined for any other error. */
export function unavailableFromConnection(error: unknown): SettleError | undefined {
  if (!isConnectionError(error)) return undefined;
  return new SettleError('UNAVAILABLE', 'the database is unreachable for the moment; retry after the number of seconds in Retry-After', {
    cause: error,
    retryable: true,
  });
}
