import pg from 'pg';

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
export const named = (name: string, text: string, values: unknown[]): { name: string; text: string; values: unknown[] } => ({ name: `settle_${name}`, text, values });

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
