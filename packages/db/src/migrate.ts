import fs from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '@settle/config';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

/** The SQL migrations directory (node-pg-migrate, numbered files). */
export const migrationsDir = path.join(repoRoot, 'migrations');

/** A database whose applied migrations are not all in `migrations/`: it was built by another set of them. */
export class ForeignMigrationsError extends Error {
  constructor(readonly unknown: string[]) {
    super(
      `the database was built by migrations this checkout does not have (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? `, … ${unknown.length} in all` : ''}): ` +
        "`npm run reset` deletes the local stack's data and starts clean, or point DATABASE_URL at a new database",
    );
    this.name = 'ForeignMigrationsError';
  }
}

/** Names of applied migrations (pgmigrations) that `migrations/` does not hold; empty on a new database. */
async function foreignMigrations(databaseUrl: string): Promise<string[]> {
  const known = new Set(
    (await fs.readdir(migrationsDir)).filter((file) => file.endsWith('.sql')).map((file) => file.slice(0, -'.sql'.length)),
  );
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const table = await client.query<{ present: boolean }>(`SELECT to_regclass('public.pgmigrations') IS NOT NULL AS present`);
    if (table.rows[0]?.present !== true) return [];
    const applied = await client.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY run_on, id');
    return applied.rows.map((row) => row.name).filter((name) => !known.has(name));
  } finally {
    await client.end();
  }
}

/**
 * Applies every pending migration to the database at `databaseUrl`; returns the names it ran. A database built by
 * another set of migrations (one from before the set was squashed for the first release) is refused with
 * ForeignMigrationsError, which names the way out, rather than node-pg-migrate's complaint about their order.
 */
export async function migrate(databaseUrl: string, log: (message: string) => void = () => undefined): Promise<string[]> {
  const unknown = await foreignMigrations(databaseUrl);
  if (unknown.length > 0) throw new ForeignMigrationsError(unknown);
  const ran = await runner({
    databaseUrl,
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    singleTransaction: true,
    log,
    logger: { debug: () => undefined, info: log, warn: log, error: log },
  });
  return ran.map((migration) => migration.name);
}

/** Creates database `name` on the server of `adminUrl` when it does not exist yet; returns its URL. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
