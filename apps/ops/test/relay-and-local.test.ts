import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '@settle/auth';
import { setupRelaySlot } from '@settle/db';
import { useTestDatabase, uniqueSuffix } from '@settle/testkit';
import { runCliInProcess, type CliResult } from './run-cli';

const database = useTestDatabase('ops_relay', { max: 2 });
let dataDir: string;
const slot = `ops_slot_${uniqueSuffix()}`;

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-ops-'));
});
afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});

const cli = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> => runCliInProcess({ PATH: process.env['PATH'], ...env }, args);

describe('settle-ops relay', () => {
  it('status reports a lost slot; recreate-slot needs --yes, then brings it back', async () => {
    const env = { DATABASE_URL: database.url, RELAY_SLOT: slot };
    expect(await setupRelaySlot(database.pool, slot, 'settle_outbox_pub')).toBe('created');
    expect((await cli(env, 'relay', 'status')).stdout).toMatch(new RegExp(`^slot ${slot}: ok, not streaming, confirmed up to \\d+/`));

    await database.pool.query('SELECT pg_drop_replication_slot($1)', [slot]);
    const lost = await cli(env, 'relay', 'status', '--json');
    expect(JSON.parse(lost.stdout)).toMatchObject({ slot, status: 'missing' });

    const unconfirmed = await cli(env, 'relay', 'recreate-slot', '--reason', 'outbox rows re-published');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/^settle-ops: recreating the slot skips every event committed while it was missing/);
    expect((await database.pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount).toBe(0);

    const done = await cli(env, 'relay', 'recreate-slot', '--reason', 'outbox rows re-published', '--yes');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`recreated slot ${slot}`);
    expect((await database.pool.query('SELECT recreate_count FROM relay_slots WHERE slot_name = $1', [slot])).rows).toEqual([
      { recreate_count: 1 },
    ]);
    expect((await cli(env, 'relay', 'recreate-slot', '--reason', 'again', '--yes')).stdout).toContain('exists: nothing to do');
  });
});

describe('settle-ops beside a local npm start', () => {
  it('token signs with the secret npm start keeps in SETTLE_DATA_DIR when JWT_SECRET is not set', async () => {
    const secret = 'local-dev-secret-0123456789abcdef';
    await fs.writeFile(path.join(dataDir, 'jwt-secret'), `${secret}\n`);
    const result = await cli({ SETTLE_DATA_DIR: dataDir }, 'token', '--role', 'merchant', '--id', 'merchant-alpha');
    expect(result.code).toBe(0);
    const principal = await createTokenVerifier({ JWT_SECRET: secret, JWKS_URL: undefined, JWT_ISSUER: undefined })(result.stdout.trim());
    expect(principal).toMatchObject({ role: 'merchant', id: 'merchant-alpha' });
  });

  it('token without JWT_SECRET or the file fails in one line naming both', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-ops-empty-'));
    const result = await cli({ SETTLE_DATA_DIR: empty }, 'token', '--role', 'user', '--id', 'u-1');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`JWT_SECRET is not set and ${path.join(empty, 'jwt-secret')} does not exist`);
    await fs.rm(empty, { recursive: true, force: true });
  });
});
