import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@settle/config';
import { freePort } from '@settle/stack';
import { createTestDatabase, testStack, type TestDatabase } from '@settle/testkit';

const STRONG_SECRET = 'Qm4r7Vx2pL9sKc3Fh8Zt1Wn6Yb5Ge0Ju';
const ENTRIES = {
  api: ['--import', 'tsx', path.join(repoRoot, 'apps/api/src/main.ts')],
  notifier: ['--import', 'tsx', path.join(repoRoot, 'apps/notifier/src/main.ts')],
  ops: [path.join(repoRoot, 'apps/ops/bin/settle-ops.mjs'), 'dlq', 'list'],
} as const;

/** An app's entry as a process with only `env` (plus PATH): its exit code and what it wrote. */
function run(app: keyof typeof ENTRIES, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...ENTRIES[app]], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // Generous: loading an app's whole module graph through tsx takes many seconds on 2 busy cores.
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('NODE_ENV=production refuses an unsafe auth setup, in one line', () => {
  const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', KAFKA_BROKERS: '127.0.0.1:1' };
  const cases: Array<[keyof typeof ENTRIES, string, Record<string, string>, string]> = [
    ['api', 'dev auth on', { DEV_AUTH: '1', JWT_SECRET: STRONG_SECRET }, 'DEV_AUTH is on (it lets anyone mint tokens); unset it'],
    ['api', 'a secret shorter than 32 bytes', { JWT_SECRET: 'sixteen-chars-ok' }, 'JWT_SECRET is shorter than 32 bytes'],
    [
      'api',
      'the placeholder secret',
      { JWT_SECRET: 'change-me-to-a-long-random-secret' },
      'JWT_SECRET is a placeholder; generate one (openssl rand -base64 48)',
    ],
    ['api', 'no verification key', {}, 'no token verification key: set JWKS_URL, JWT_PUBLIC_KEY or JWT_SECRET'],
    ['notifier', 'dev auth on', { DEV_AUTH: '1', JWT_SECRET: STRONG_SECRET }, 'DEV_AUTH is on (it lets anyone mint tokens); unset it'],
    ['notifier', 'a secret "secret"', { JWT_SECRET: 'secret' }, 'JWT_SECRET is shorter than 32 bytes'],
    ['notifier', 'no verification key', {}, 'no token verification key: set JWKS_URL, JWT_PUBLIC_KEY or JWT_SECRET'],
    ['ops', 'dev auth on', { DEV_AUTH: '1', JWT_SECRET: STRONG_SECRET }, 'DEV_AUTH is on (it lets anyone mint tokens); unset it'],
    [
      'ops',
      'the placeholder secret',
      { JWT_SECRET: 'changeme-changeme-changeme-changeme' },
      'JWT_SECRET is a placeholder; generate one (openssl rand -base64 48)',
    ],
  ];

  it.each(cases)(
    '%s with %s exits non-zero with one line on stderr',
    async (app, _what, env, problem) => {
      const result = await run(app, { ...production, ...env });
      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stderr).toBe(`settle-${app}: refusing to start in production: ${problem}\n`);
      expect(result.stdout).toBe('');
    },
    120_000,
  );

  it('every problem is named in the one line', async () => {
    const result = await run('api', { ...production, DEV_AUTH: '1', JWT_SECRET: 'short' });
    expect(result.stderr).toBe(
      'settle-api: refusing to start in production: DEV_AUTH is on (it lets anyone mint tokens); unset it; JWT_SECRET is shorter than 32 bytes\n',
    );
  }, 120_000);
});

describe('the API in production', () => {
  let db: TestDatabase;
  let api: ChildProcess | undefined;
  let port: number;
  let adminPort: number;
  let stderr = '';

  beforeAll(async () => {
    db = await createTestDatabase('prod_api');
    [port, adminPort] = [await freePort(), await freePort()];
    api = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'apps/api/src/main.ts')], {
      cwd: repoRoot,
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'production',
        DATABASE_URL: db.url,
        JWT_SECRET: STRONG_SECRET,
        PORT: String(port),
        ADMIN_PORT: String(adminPort),
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    api.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline || api.exitCode !== null) throw new Error(`the API did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  afterAll(async () => {
    if (api !== undefined && api.exitCode === null) {
      const exited = new Promise((resolve) => api?.once('exit', resolve));
      api.kill('SIGTERM');
      await exited;
    }
    await db?.drop();
  });

  it('serves /metrics on ADMIN_PORT only: 404 on the public port', async () => {
    const admin = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
    expect(admin.status).toBe(200);
    expect(await admin.text()).toContain('settle_api_http_request_duration_seconds');
    const publicPort = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(publicPort.status).toBe(404);
    expect(publicPort.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`http://127.0.0.1:${adminPort}/ready`)).status).toBe(200);
  });

  it('serves no /docs and no /openapi.json without API_DOCS, and no dev tokens', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/docs`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/openapi.json`)).status).toBe(404);
    const devToken = await fetch(`http://127.0.0.1:${port}/v1/dev/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'merchant', id: 'm-x' }),
    });
    expect(devToken.status).toBe(401);
  });
});
