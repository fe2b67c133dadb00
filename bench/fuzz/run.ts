/**
 * bench/fuzz — the schema-driven fuzz of apps/api/test/fuzz.test.ts, longer: malformed requests generated from the
 * API's /openapi.json, sent to the API in its own process on a throwaway database. Prints how many cases ran, the
 * statuses seen, and every 5xx (or 4xx that is not a problem document) with the request that caused it; exits 1 if
 * there was any.
 *
 *   npm run fuzz                          (50,000 cases, a random seed; DATABASE_URL to use another server)
 *   FUZZ_CASES=200000 FUZZ_SEED=42 FUZZ_CONCURRENCY=8 npm run fuzz
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import fc from 'fast-check';
import { signToken } from '@settle/auth';
import { APP_NODE_FLAGS, loadConfig, repoRoot } from '@settle/config';
import { createPool, ensureDatabase, migrate, upsertAccount } from '@settle/db';
import { freePort, startStack } from '@settle/stack';
import { waitFor } from '@settle/testkit';
import { fuzzRequests, fuzzViolation, sendFuzz, stageFuzzFixtures, type FuzzRequest, type OpenApi } from '../../apps/api/test/fuzz-cases';
import { reportFigures } from '../summary';

const CASES = Number(process.env['FUZZ_CASES'] ?? 50_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CONCURRENCY = Number(process.env['FUZZ_CONCURRENCY'] ?? 8);
const BATCH = 1000;

async function main(): Promise<void> {
  const config = loadConfig();
  console.log(`bench/fuzz: ${CASES} cases, seed ${SEED}, ${CONCURRENCY} at a time`);
  const stack = await startStack({ config, mode: 'ephemeral', kafka: false, onProgress: (line) => console.log(`  [stack] ${line}`) });
  let api: ChildProcess | undefined;
  try {
    const databaseUrl = await ensureDatabase(stack.databaseUrl, 'bench_fuzz');
    await migrate(databaseUrl);
    const pool = createPool(databaseUrl, { max: 2 });
    const secret = `fuzz-${randomUUID()}`;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    api = spawn(process.execPath, [...(APP_NODE_FLAGS['api'] ?? []), '--import', 'tsx', path.join(repoRoot, 'apps/api/src/main.ts')], {
      env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), JWT_SECRET: secret, LOG_LEVEL: 'error', DEV_AUTH: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitFor(
      () =>
        fetch(`${url}/health`).then(
          (response) => response.ok,
          () => false,
        ),
      'the API to answer /health',
      30_000,
    );

    const token = async (role: 'user' | 'merchant' | 'compliance', id: string): Promise<string> => {
      await upsertAccount(pool, { kind: role, id });
      return signToken({ JWT_SECRET: secret, JWT_ISSUER: undefined }, { role, id });
    };
    const fixtures = await stageFuzzFixtures(url, token, 'bench');
    const orders = async (): Promise<string> =>
      JSON.stringify((await pool.query('SELECT * FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id', [fixtures.orderIds])).rows);
    const before = await orders();
    const document = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApi;
    const arbitrary = fuzzRequests(document, fixtures);

    const statuses = new Map<number, number>();
    const violations: Array<{ request: FuzzRequest; problem: string }> = [];
    const started = performance.now();
    for (let done = 0; done < CASES; done += BATCH) {
      const batch = fc.sample(arbitrary, { numRuns: Math.min(BATCH, CASES - done), seed: SEED + done });
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let request = batch[next++]; request !== undefined; request = batch[next++]) {
            const answer = await sendFuzz(url, request);
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            const problem = fuzzViolation(answer);
            if (problem !== undefined) violations.push({ request, problem });
          }
        }),
      );
      if ((done / BATCH) % 10 === 9) console.log(`  ${done + BATCH} cases, ${violations.length} violations`);
    }
    const seconds = (performance.now() - started) / 1000;
    const unchanged = (await orders()) === before;
    await pool.end();

    console.log(`\ncases: ${CASES} in ${seconds.toFixed(1)} s (${(CASES / seconds).toFixed(0)}/s), seed ${SEED}`);
    console.log(
      `statuses: ${[...statuses.entries()]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${status}×${count}`)
        .join('  ')}`,
    );
    console.log(`fixture orders unchanged: ${unchanged ? 'yes' : 'NO'}`);
    console.log(`violations (5xx, or a 4xx that is not a problem document): ${violations.length}`);
    for (const { request, problem } of violations.slice(0, 50)) console.log(`  ${problem}\n    ← ${request.text}`);
    reportFigures('fuzz', [
      {
        name: `malformed requests that got a 5xx or a 4xx without a problem document (of ${CASES}, seed ${SEED})`,
        value: violations.length,
        unit: 'requests',
        goal: '0',
        met: violations.length === 0,
      },
      { name: 'fixture orders changed', value: unchanged ? 0 : 1, unit: '', goal: '0', met: unchanged },
    ]);
    if (violations.length > 0 || !unchanged) process.exitCode = 1;
  } finally {
    api?.kill('SIGTERM');
    if (api !== undefined && api.exitCode === null) await new Promise((resolve) => api?.once('exit', resolve));
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench/fuzz: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
