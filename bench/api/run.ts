/**
 * bench/api — order transitions per second over HTTP (full create → accept → escrow → paid → release cycles
 * through apps/api in its own process) against pgbench running the same SQL statements (recorded from
 * packages/db's write path, see cycle.ts) on the same database in the same run; then p50/p99 latency at half the measured HTTP peak (open loop).
 *
 *   npm run bench:api            (embedded Postgres; DATABASE_URL to use another server)
 *   BENCH_SECONDS=5 BENCH_ROUNDS=8 BENCH_CONCURRENCY=32,64 BENCH_PGBENCH_CLIENTS=8,16 BENCH_OPEN_RATES=100,200 npm run bench:api
 *
 * Each side's peak is the best of several concurrency levels (HTTP concurrent cycles; pgbench clients), so
 * neither is compared at a setting that suits only the other, over BENCH_ROUNDS rounds in which the two sides
 * take turns (the machine is shared: a noisy stretch then hits both). Every phase starts from a vacuumed,
 * checkpointed database and, on the HTTP side, one unmeasured second of the same load.
 *
 * Beside the API as shipped run a second process of the same code (the control), the same API with each Express
 * bend off, and with all of them off (stock Express 5; variants.ts), each a process of its own. Every one of them runs
 * once at each level in every round, and a bend's gain (transitions/s, the API's CPU per transition) is the median of
 * its differences from the shipped API's phase of the same round and level, printed beside the control's reading of
 * the same kind: a gain no larger than that is noise. BENCH_BENDS=0 runs the shipped API alone.
 *
 * Diagnostics: BENCH_API_PROFILE=<dir> writes the shipped API's CPU profile there; BENCH_API_FLAGS adds node flags
 * to every API process (e.g. "--trace-gc").
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signToken } from '@settle/auth';
import { loadConfig } from '@settle/config';
import { createPool, ensureDatabase, migrate, upsertAccount } from '@settle/db';
import { startStack } from '@settle/stack';
import { cpuBetween, cpuSnapshot, schedBetween, schedSnapshot, stealSnapshot, stolenSince, wakeupCostUs, type CpuSnapshot } from '../cpu';
import { ConnectionPool } from './client';
import { BENCH_WALLET, pgbenchScript } from './cycle';
import { reportFigures, type Figure } from '../summary';
import { beyond, CONTROL, printVariants, SHIPPED, startVariant, stopVariant, variants, type Phase, type RunningApi } from './variants';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const levels = (value: string | undefined, fallback: string): number[] => (value ?? fallback).split(',').map(Number);
const CONCURRENCY = levels(process.env['BENCH_CONCURRENCY'], '32,64');
const PGBENCH_CLIENTS = levels(process.env['BENCH_PGBENCH_CLIENTS'], '8,16');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 4);
const WITH_BENDS = process.env['BENCH_BENDS'] !== '0';
/** The half-load latency phase's length. */
const HALF_LOAD_SECONDS = 10;
const TRANSITIONS_PER_CYCLE = 5;

function findPgbench(): string {
  for (const candidate of ['pgbench', ...['18', '17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`)]) {
    if (spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  throw new Error('pgbench is needed for the baseline: install it (e.g. apt-get install postgresql-client)');
}

/** The keep-alive connections to each API process, by port. */
const connections = new Map<number, ConnectionPool>();
const connectionsTo = (port: number): ConnectionPool => {
  let pool = connections.get(port);
  if (pool === undefined) connections.set(port, (pool = new ConnectionPool(port)));
  return pool;
};
async function request(
  port: number,
  method: 'GET' | 'POST',
  pathname: string,
  token: string,
  body: unknown,
  headers = '',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await connectionsTo(port).request(method, pathname, token, body, headers);
  // Only a create's body is needed (its id): skipping the parse keeps the load generator's CPU off the measurement.
  const status = response.status;
  if (status === 201 || status >= 400) return { status, body: JSON.parse(response.body) as Record<string, unknown> };
  return { status, body: {} };
}

interface Party {
  user: string;
  merchant: string;
  merchantId: string;
}

/** The 5 HTTP calls of one cycle, as thunks, so open-loop pacing can issue them one at a time. */
function cycleSteps(port: number, party: Party, n: string): Array<(id: string) => Promise<string>> {
  const expect200 = (status: number, what: string, body: unknown): void => {
    if (status !== 200 && status !== 201) throw new Error(`${what} answered ${status}: ${JSON.stringify(body)}`);
  };
  return [
    async () => {
      const res = await request(port, 'POST', '/v1/orders', party.user, {
        type: 'sell',
        merchantId: party.merchantId,
        cryptoAmount: '100',
        fiatAmount: '367.25',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'upi',
      });
      expect200(res.status, 'create', res.body);
      return String(res.body['id']);
    },
    async (id) => (
      expect200(
        (await request(port, 'POST', `/v1/orders/${id}/accept`, party.merchant, { walletAddress: BENCH_WALLET })).status,
        'accept',
        null,
      ),
      id
    ),
    async (id) => (
      expect200(
        (await request(port, 'POST', `/v1/orders/${id}/escrow`, party.user, { txHash: createHash('sha256').update(`e${n}`).digest('hex') }))
          .status,
        'escrow',
        null,
      ),
      id
    ),
    async (id) => (
      expect200((await request(port, 'POST', `/v1/orders/${id}/payment-sent`, party.merchant, {})).status, 'payment-sent', null),
      id
    ),
    async (id) => (
      expect200(
        (
          await request(
            port,
            'POST',
            `/v1/orders/${id}/release`,
            party.user,
            { txHash: createHash('sha256').update(`r${n}`).digest('hex') },
            `idempotency-key: bench-${n}\r\n`,
          )
        ).status,
        'release',
        null,
      ),
      id
    ),
  ];
}

/** CPU ms a role used between two snapshots. */
const cpuUsed =
  (before: CpuSnapshot, after: CpuSnapshot) =>
  (role: string): number =>
    (after.get(role) ?? 0) - (before.get(role) ?? 0);

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function closedLoop(
  port: number,
  parties: Party[],
  seconds: number,
  concurrency: number,
): Promise<{ transitions: number; perSecond: number }> {
  const deadline = Date.now() + seconds * 1000;
  let transitions = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      const party = parties[worker % parties.length] as Party;
      while (Date.now() < deadline) {
        let id = '';
        for (const step of cycleSteps(port, party, randomUUID().replaceAll('-', ''))) {
          id = await step(id);
          transitions += 1;
        }
      }
    }),
  );
  return { transitions, perSecond: transitions / ((Date.now() - started) / 1000) };
}

/** Issues transitions at `rate`/s regardless of completions; latency counts from the scheduled time. */
async function openLoop(port: number, parties: Party[], rate: number, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const ready: Array<{ steps: Array<(id: string) => Promise<string>>; id: string }> = [];
  const inflight: Array<Promise<void>> = [];
  const start = performance.now();
  const total = Math.floor(rate * seconds);
  let created = 0;
  for (let i = 0; i < total; i += 1) {
    const scheduled = start + (i * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const cycle = ready.shift() ?? {
      steps: cycleSteps(port, parties[(created += 1) % parties.length] as Party, randomUUID().replaceAll('-', '')),
      id: '',
    };
    const step = cycle.steps.shift() as (id: string) => Promise<string>;
    inflight.push(
      step(cycle.id).then((id) => {
        latencies.push(performance.now() - scheduled);
        cycle.id = id;
        if (cycle.steps.length > 0) ready.push(cycle);
      }),
    );
  }
  await Promise.all(inflight);
  return latencies.sort((a, b) => a - b);
}

function pgbench(binary: string, url: string, script: string, variables: Record<string, string>, clients: number): number {
  const defines = Object.entries(variables).flatMap(([name, value]) => ['-D', `${name}=${value}`]);
  const args = ['-n', '-M', 'prepared', '-c', String(clients), '-j', '2', '-T', String(SECONDS), ...defines, '-f', script, url];
  const result = spawnSync(binary, args, { encoding: 'utf8' });
  const tps = result.stdout.match(/tps = ([\d.]+)/);
  if (result.status !== 0 || tps?.[1] === undefined)
    throw new Error(`pgbench failed: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return Number(tps[1]) * TRANSITIONS_PER_CYCLE;
}

async function main(): Promise<void> {
  const started = performance.now();
  const pgbenchBinary = findPgbench();
  const config = loadConfig();
  const all = WITH_BENDS ? variants() : [SHIPPED];
  console.log(
    `bench/api: ${SECONDS}s per phase, ${ROUNDS} rounds, HTTP concurrency ${CONCURRENCY.join('/')}, pgbench clients ${PGBENCH_CLIENTS.join('/')}, ${TRANSITIONS_PER_CYCLE} transitions per cycle`,
  );
  console.log(`  API processes: ${all.map((variant) => variant.name).join(', ')}`);
  console.log(`  this machine: an idle Node timer wakeup costs ${(await wakeupCostUs()).toFixed(0)} µs of CPU (bench/cpu.ts wakeupCostUs)`);
  const stack = await startStack({ config, mode: 'ephemeral', kafka: false, onProgress: (line) => console.log(`  [stack] ${line}`) });
  const apis: RunningApi[] = [];
  try {
    const url = await ensureDatabase(stack.databaseUrl, 'bench_api');
    await migrate(url);
    const pool = createPool(url, { max: 2 });
    const secret = `bench-${randomUUID()}`;
    const parties: Party[] = [];
    await upsertAccount(pool, { kind: 'merchant', id: 'm-bench' });
    for (let i = 0; i < 64; i += 1) {
      await upsertAccount(pool, { kind: 'merchant', id: `m-b${i}` });
      parties.push({
        user: await signToken({ JWT_SECRET: secret, JWT_ISSUER: undefined }, { role: 'user', id: `u-b${i}` }),
        merchant: await signToken({ JWT_SECRET: secret, JWT_ISSUER: undefined }, { role: 'merchant', id: `m-b${i}` }),
        merchantId: `m-b${i}`,
      });
    }

    const env = { ...process.env, DATABASE_URL: url, JWT_SECRET: secret, LOG_LEVEL: 'warn', DEV_AUTH: '0', NODE_ENV: 'production' };
    const flags = process.env['BENCH_API_FLAGS']?.split(' ').filter(Boolean) ?? [];
    const profile = process.env['BENCH_API_PROFILE'];
    for (const variant of all) {
      const profiled = variant === SHIPPED && profile !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
      apis.push(await startVariant(variant, env, [...profiled, ...flags]));
    }
    const shippedApi = apis[0] as RunningApi;

    console.log('warming up…');
    // Long enough for V8 to optimise the hot paths and the old generation to reach its working size.
    for (const api of apis) await closedLoop(api.port, parties, 5, CONCURRENCY.at(-1) ?? 64);
    // A realistic event payload for pgbench: one the API just wrote.
    const payload = (await pool.query<{ payload: unknown }>(`SELECT payload FROM outbox ORDER BY created_at DESC LIMIT 1`)).rows[0]
      ?.payload;

    // CPU per transition (µs) of each process, to see where the HTTP path spends more than pgbench.
    const perTransition = (ms: number, transitions: number): string => `${((ms * 1000) / transitions).toFixed(0)} µs`;
    // Every phase starts from the same state: the previous phase's dead rows vacuumed and its WAL
    // checkpointed, so no phase pays for another's background work.
    const settle = async (): Promise<void> => {
      await pool.query('VACUUM ANALYZE orders, order_events, outbox, tx_hashes, idempotency_keys');
      await pool.query('CHECKPOINT');
    };
    const script = path.join(mkdtempSync(path.join(os.tmpdir(), 'settle-bench-')), 'cycle.sql');
    const cycle = await pgbenchScript(pool, { user: 'u-b0', merchant: 'm-b0' });
    writeFileSync(script, cycle.script);
    let peak = {
      transitions: 0,
      perSecond: 0,
      concurrency: 0,
      cpu: { client: 0, api: 0, postgres: 0 },
      sched: { ran: 0, waited: 0, idle: 0, stolen: 0 },
    };
    const phases: Phase[] = [];
    let baseline = { perSecond: 0, clients: 0, cpu: { postgres: 0, pgbench: 0 }, stolen: 0 };
    let settling = 0;
    const timedSettle = async (): Promise<void> => {
      const settleBegan = performance.now();
      await settle();
      settling += performance.now() - settleBegan;
    };
    const httpPhase = async (api: RunningApi, concurrency: number, round: number): Promise<void> => {
      // One unmeasured second first: a process that sat idle while the others ran comes back with a shrunken heap and
      // cold caches; and the checkpoint's first-touch writes fall here.
      await closedLoop(api.port, parties, 1, concurrency);
      const pid = api.process.pid as number;
      const before = cpuSnapshot({ api: pid });
      const schedBefore = schedSnapshot(pid);
      const run = await closedLoop(api.port, parties, SECONDS, concurrency);
      const schedAfter = schedSnapshot(pid);
      const after = cpuSnapshot({ api: pid });
      const sched = schedBetween(schedBefore, schedAfter, os.cpus().length);
      const used = cpuUsed(before, after);
      const cpu = { client: used('self'), api: used('api'), postgres: used('postgres') };
      // The machine's CPU that none of this bench's processes used (other work on the shared VM).
      const wallMs = schedAfter.at - schedBefore.at;
      const others = Math.max(0, 1 - sched.idle - sched.stolen - cpuBetween(before, after, wallMs).totalMs / (wallMs * os.cpus().length));
      phases.push({
        variant: api.variant,
        round,
        concurrency,
        transitions: run.transitions,
        perSecond: run.perSecond,
        apiCpuMs: cpu.api,
        others,
      });
      console.log(
        `  round ${round}: HTTP ${api.variant.name}, ${concurrency} concurrent cycles: ${run.perSecond.toFixed(0)} transitions/s, API ${perTransition(cpu.api, run.transitions)} CPU per transition (other processes ${(others * 100).toFixed(0)} %, stolen ${(sched.stolen * 100).toFixed(0)} % of the machine)`,
      );
      if (api === shippedApi && run.perSecond > peak.perSecond) peak = { ...run, concurrency, cpu, sched };
    };
    const began = performance.now();
    // The two sides take turns, ROUNDS times over, so a noisy stretch of the shared machine hits both alike. On the
    // HTTP side every API process runs once at each level per round, each level in turn; within a level the processes'
    // order turns by one each round, so none always runs first or right after pgbench, and all idle alike in between.
    for (let round = 1; round <= ROUNDS; round += 1) {
      const turn = (round - 1) % apis.length;
      for (const concurrency of CONCURRENCY) {
        for (const api of [...apis.slice(turn), ...apis.slice(0, turn)]) {
          await timedSettle();
          await httpPhase(api, concurrency, round);
        }
      }
      for (const clients of PGBENCH_CLIENTS) {
        await timedSettle();
        const before = cpuSnapshot({});
        const steal = stealSnapshot();
        const perSecond = pgbench(pgbenchBinary, url, script, { ...cycle.variables, payload: JSON.stringify(payload) }, clients);
        // pgbench ran as this process's child, so its time is in `self` (this process only waited for it).
        const used = cpuUsed(before, cpuSnapshot({}));
        const stolen = stolenSince(steal, os.cpus().length);
        console.log(
          `  round ${round}: pgbench, same statements, ${clients} clients: ${perSecond.toFixed(0)} transitions/s (${(stolen * 100).toFixed(0)} % stolen)`,
        );
        if (perSecond > baseline.perSecond)
          baseline = { perSecond, clients, cpu: { postgres: used('postgres'), pgbench: used('self') }, stolen };
      }
    }
    console.log(
      `  (${ROUNDS} rounds in ${((performance.now() - began) / 1000).toFixed(0)} s, of which ${(settling / 1000).toFixed(0)} s vacuuming and checkpointing between phases)`,
    );
    // The latency goal is the shipped API's; the others have done their part.
    for (const api of apis.splice(1)) await stopVariant(api);
    const half = peak.perSecond / 2;
    console.log(`half load (open loop at ${half.toFixed(0)} transitions/s)…`);
    await settle();
    // One unmeasured second at the same rate first: right after settle()'s CHECKPOINT every first touch of a
    // page writes a full-page image to the WAL, and that burst belongs to the checkpoint, not to the API.
    await openLoop(shippedApi.port, parties, half, 1);
    const halfSteal = stealSnapshot();
    const latencies = await openLoop(shippedApi.port, parties, half, HALF_LOAD_SECONDS);
    const halfStolen = stolenSince(halfSteal, os.cpus().length);
    // Optional latency curve: BENCH_OPEN_RATES=100,200,300 (transitions/s).
    for (const rate of levels(process.env['BENCH_OPEN_RATES'], '').filter((value) => value > 0)) {
      await settle();
      const curve = await openLoop(shippedApi.port, parties, rate, HALF_LOAD_SECONDS);
      console.log(`  open loop at ${rate}/s: p50 ${percentile(curve, 50).toFixed(1)} ms, p99 ${percentile(curve, 99).toFixed(1)} ms`);
    }
    await pool.end();

    const ratio = peak.perSecond / baseline.perSecond;
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log('');
    console.log('results');
    console.log(`  HTTP transitions/s (peak)        ${peak.perSecond.toFixed(0)}   (${peak.concurrency} concurrent cycles)`);
    console.log(`  pgbench transitions/s (baseline) ${baseline.perSecond.toFixed(0)}   (${baseline.clients} clients)`);
    console.log(`  ratio HTTP / pgbench             ${(ratio * 100).toFixed(1)} %   (goal ≥ 60 %)  ${ratio >= 0.6 ? 'met' : 'NOT met'}`);
    console.log(
      `  CPU per transition, HTTP: API ${perTransition(peak.cpu.api, peak.transitions)}, Postgres ${perTransition(peak.cpu.postgres, peak.transitions)}, load generator ${perTransition(peak.cpu.client, peak.transitions)}` +
        ` (API at ${((peak.cpu.api / (SECONDS * 1000)) * 100).toFixed(0)} % of a core; ${os.cpus().length} cores shared, load average ${os.loadavg()[0]?.toFixed(1)})`,
    );
    // Where the HTTP side's missing throughput goes: the API's one thread is the serial stage of every request.
    const pct = (share: number): string => `${(share * 100).toFixed(0)} %`;
    console.log(
      `  API main thread at the peak: ran ${pct(peak.sched.ran)}, runnable but waiting for a CPU ${pct(peak.sched.waited)} of the time; machine idle ${pct(peak.sched.idle)}, stolen by the hypervisor ${pct(peak.sched.stolen)}`,
    );
    const baselineTransitions = baseline.perSecond * SECONDS;
    console.log(
      `  CPU per transition, pgbench: Postgres ${perTransition(baseline.cpu.postgres, baselineTransitions)}, pgbench ${perTransition(baseline.cpu.pgbench, baselineTransitions)}`,
    );
    console.log(
      `  latency at half load: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${latencies.length} requests   (goal p99 ≤ 25 ms)  ${p99 <= 25 ? 'met' : 'NOT met'}; ${pct(halfStolen)} of the machine stolen by the hypervisor meanwhile`,
    );
    const gains = WITH_BENDS ? printVariants(phases, all, baseline.perSecond) : [];
    const control = gains.find((gain) => gain.against === CONTROL);
    const bendFigures: Figure[] = gains
      .filter((gain) => gain !== control)
      .map((gain) => ({
        name: `HTTP transitions/s as shipped against ${gain.against.name} (medians of ${gain.pairs} phases)`,
        value: gain.shipped,
        unit: 'transitions/s',
        baseline: { name: gain.against.name, value: gain.without },
        goal: 'a gain beyond the second shipped process',
        met: control !== undefined && beyond(gain, control),
      }));
    reportFigures('api', [
      {
        name: 'HTTP transitions/s (peak)',
        value: peak.perSecond,
        unit: 'transitions/s',
        baseline: { name: 'pgbench, the same statements', value: baseline.perSecond },
        goal: '≥ 60 % of pgbench',
        met: ratio >= 0.6,
      },
      { name: 'p99 at half the HTTP peak', value: p99, unit: 'ms', goal: '≤ 25 ms', met: p99 <= 25 },
      { name: 'p50 at half the HTTP peak', value: p50, unit: 'ms', goal: '(reported)', met: true },
      ...bendFigures,
    ]);
    console.log(`  (bench/api ran ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    // On a shared VM the two peaks may have had very different machines: say so rather than let it pass as a result.
    if (Math.max(peak.sched.stolen, baseline.stolen, halfStolen) > 0.1 || Math.abs(peak.sched.stolen - baseline.stolen) > 0.05) {
      console.log(
        `  note: the hypervisor took ${pct(peak.sched.stolen)} of the machine in the HTTP peak phase, ${pct(baseline.stolen)} in pgbench's and ${pct(halfStolen)} at half load: these figures measure the host as much as the code; rerun when it is quieter`,
      );
    }
  } finally {
    for (const pool of connections.values()) pool.close();
    for (const api of apis) await stopVariant(api);
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench/api: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
