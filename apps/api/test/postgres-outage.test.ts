import fs from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '@settle/auth';
import { loadConfig } from '@settle/config';
import { createPool, ensureDatabase, migrate, upsertAccount, type Pool } from '@settle/db';
import { freePort, startEmbeddedPostgres, type RunningPostgres } from '@settle/stack';
import { applyServerLimits } from '../src/server-limits';
import { testApp } from './harness';

/** Postgres of this file's own (stopping the shared test cluster would break every other file). */
describe('Postgres stopped under the API', () => {
  let dir: string;
  let port: number;
  let postgres: RunningPostgres | undefined;
  let pool: Pool;
  let server: Server | undefined;
  let base: string;
  let token: string;
  const config = loadConfig({ DATABASE_URL: 'postgres://unused', JWT_SECRET: 'postgres-outage-test-secret', LOG_LEVEL: 'silent' });
  const startPostgres = async (): Promise<RunningPostgres> => startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port });

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-api-outage-'));
    // As root, Postgres runs as the postgres user, which must enter the directory.
    await fs.chmod(dir, 0o755);
    port = await freePort();
    postgres = await startPostgres();
    const url = await ensureDatabase(postgres.url, 'api_outage');
    await migrate(url);
    // As main.ts makes it: idle connections are kept, so the outage also kills connections the pool holds.
    pool = createPool(url, { max: 4, idleTimeoutMillis: 0 });
    const app = testApp(config, pool);
    server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
      applyServerLimits(listening, config);
    });
    base = `http://127.0.0.1:${(server?.address() as AddressInfo).port}`;
    await upsertAccount(pool, { kind: 'merchant', id: 'm-outage' });
    await upsertAccount(pool, { kind: 'user', id: 'u-outage' });
    token = await signToken(config, { role: 'user', id: 'u-outage' });
  });

  afterAll(async () => {
    const running = server;
    if (running !== undefined) await new Promise((resolve) => running.close(resolve));
    await pool?.end();
    await postgres?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const createOrder = (): Promise<Response> =>
    fetch(`${base}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'sell',
        merchantId: 'm-outage',
        cryptoAmount: '100',
        fiatAmount: '367.25',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'upi',
      }),
    });

  it('answers 503 problem+json with Retry-After (not 500) while Postgres is down, /ready 503, and recovers by itself', async () => {
    expect((await createOrder()).status).toBe(201);
    expect((await fetch(`${base}/ready`)).status).toBe(200);

    await postgres?.stop();
    postgres = undefined;
    for (const response of [
      await createOrder(),
      await fetch(`${base}/v1/merchants`, { headers: { authorization: `Bearer ${token}` } }),
      await createOrder(),
      await fetch(`${base}/ready`),
    ]) {
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(response.headers.get('retry-after')).toBe('2');
      expect(await response.json()).toMatchObject({ type: 'https://settle.dev/problems/unavailable', status: 503 });
    }

    postgres = await startPostgres();
    const deadline = Date.now() + 20_000;
    while ((await fetch(`${base}/ready`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('/ready did not turn 200 after Postgres came back');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await createOrder()).status).toBe(201);
    expect((await pool.query<{ count: string }>('SELECT count(*) FROM orders')).rows[0]?.count).toBe('2');
  });
});
