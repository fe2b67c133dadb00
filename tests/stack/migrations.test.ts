import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@settle/config';
import { createPool, ForeignMigrationsError, migrate, migrationsDir, type Pool } from '@settle/db';
import { createTestDatabase, testStack, type TestDatabase } from '@settle/testkit';

/** The migrations a database built by the set from before the squash holds (a developer's old local data). */
const OLD_SET = ['0001_outbox', '0002_orders', '0010_relay_slots', '0024_notification_payload_lz4', '0040_republish_runs'];

describe('migrations', () => {
  let db: TestDatabase;
  let pool: Pool;
  let scratch: string;
  beforeAll(async () => {
    db = await createTestDatabase('migrations');
    pool = createPool(db.url, { max: 2 });
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-migrations-'));
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
    await fs.rm(scratch, { recursive: true, force: true });
  });

  it('a database built from migrations/ holds each file once, in order, and has nothing left to run', async () => {
    const files = (await fs.readdir(migrationsDir)).filter((file) => file.endsWith('.sql')).sort();
    const applied = await pool.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY id');
    expect(applied.rows.map((row) => row.name)).toEqual(files.map((file) => file.slice(0, -'.sql'.length)));
    expect(await migrate(db.url)).toEqual([]);
  });

  it('refuses a database built by another set of migrations, naming `npm run reset`, and changes nothing', async () => {
    const other = await createTestDatabase('migrations_old');
    const oldPool = createPool(other.url, { max: 1 });
    try {
      // What a checkout from before the squash left behind: its names in pgmigrations.
      await oldPool.query('DELETE FROM pgmigrations');
      for (const name of OLD_SET) await oldPool.query('INSERT INTO pgmigrations (name, run_on) VALUES ($1, now())', [name]);
      const before = await oldPool.query('SELECT id, name FROM pgmigrations ORDER BY id');

      const error = await migrate(other.url).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ForeignMigrationsError);
      expect((error as ForeignMigrationsError).unknown).toEqual(OLD_SET);
      expect(String((error as Error).message)).toContain('0001_outbox, 0002_orders, 0010_relay_slots, … 5 in all');
      expect(String((error as Error).message)).toContain('`npm run reset`');
      expect((await oldPool.query('SELECT id, name FROM pgmigrations ORDER BY id')).rows).toEqual(before.rows);

      // npm start on such a database stops in one line with the same reason, and leaves nothing running.
      const started = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
        cwd: repoRoot,
        env: {
          ...process.env,
          DATABASE_URL: other.url,
          KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
          SETTLE_DATA_DIR: path.join(scratch, 'data'),
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(started.status).toBe(1);
      expect(started.stderr.trim().split('\n')).toHaveLength(1);
      expect(started.stderr).toMatch(/^settle: the database was built by migrations this checkout does not have \(0001_outbox, /);
      expect(started.stdout).toContain('stopped: no Settle process is left running');
      expect((await oldPool.query('SELECT id, name FROM pgmigrations ORDER BY id')).rows).toEqual(before.rows);
    } finally {
      await oldPool.end();
      await other.drop();
    }
  }, 90_000);
});
