/**
 * The API processes bench/api runs side by side: the API as shipped; a second process of the same code (the control:
 * what the method reads when nothing differs); the same API with each Express bend off alone; and, with more than one
 * bend, with all of them off (stock Express 5). Each is a process of its own on the same database, warmed up once and
 * run in turn, so a bend's gain is measured against Express's own path in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ALL_BENDS, type ExpressBends } from '@settle/api';
import { APP_NODE_FLAGS, repoRoot } from '@settle/config';
import { freePort } from '@settle/stack';
import { waitFor } from '@settle/testkit';

export type Bend = keyof ExpressBends;

/** How a bend is named in the bench's output. */
export const BEND_NAMES: Record<Bend, string> = {
  fastJsonBody: 'fast JSON body',
};

export interface Variant {
  name: string;
  /** The bends this variant turns off; none for the API as shipped. */
  off: Bend[];
}

export const SHIPPED: Variant = { name: 'as shipped', off: [] };
export const CONTROL: Variant = { name: 'as shipped, a second process', off: [] };

/** As shipped, the control, each bend off alone, and every bend off (stock Express 5) when there are several. */
export function variants(): Variant[] {
  const bends = Object.keys(ALL_BENDS) as Bend[];
  return [
    SHIPPED,
    CONTROL,
    ...bends.map((bend) => ({ name: `without ${BEND_NAMES[bend]}`, off: [bend] })),
    ...(bends.length > 1 ? [{ name: 'stock Express 5 (all off)', off: bends }] : []),
  ];
}

export interface RunningApi {
  variant: Variant;
  port: number;
  process: ChildProcess;
}

/**
 * Starts one variant's API on a free port and waits for /health. The shipped one runs apps/api's main.ts itself, the
 * others bench/api/api-process.ts with `--off` for each bend. `nodeFlags` come before the API's own (APP_NODE_FLAGS).
 */
export async function startVariant(variant: Variant, env: NodeJS.ProcessEnv, nodeFlags: string[]): Promise<RunningApi> {
  const port = await freePort();
  // NODE_ENV=production serves /metrics on an admin port: one each.
  const adminPort = await freePort();
  const entry =
    variant === SHIPPED
      ? [path.join(repoRoot, 'apps/api/src/main.ts')]
      : [path.join(repoRoot, 'bench/api/api-process.ts'), ...variant.off.flatMap((bend) => ['--off', bend])];
  const child = spawn(process.execPath, [...nodeFlags, ...(APP_NODE_FLAGS['api'] ?? []), '--import', 'tsx', ...entry], {
    env: { ...env, PORT: String(port), ADMIN_PORT: String(adminPort) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`the API (${variant.name}) exited with code ${child.exitCode} before it answered /health`);
      return fetch(`http://127.0.0.1:${port}/health`).then(
        (response) => response.ok,
        () => false,
      );
    },
    `the API (${variant.name}) to answer /health`,
    30_000,
  );
  return { variant, port, process: child };
}

export async function stopVariant(api: RunningApi): Promise<void> {
  if (api.process.exitCode !== null) return;
  const exited = new Promise((resolve) => api.process.once('exit', resolve));
  api.process.kill('SIGTERM');
  await exited;
}

/** One closed-loop phase of one variant. */
export interface Phase {
  variant: Variant;
  round: number;
  concurrency: number;
  transitions: number;
  perSecond: number;
  /** CPU ms of the variant's API process in the phase. */
  apiCpuMs: number;
  /** The share of the machine's CPU that processes outside the bench used meanwhile. */
  others: number;
}

const cpuUs = (phase: Phase): number => (phase.apiCpuMs * 1000) / phase.transitions;
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
};
const signed = (value: number, digits: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`;
const row = (values: number[], width: number): string => values.map((value) => value.toFixed(0).padStart(width)).join(' ');

/** What the shipped API gains over `against` (a bend off, all of them, or the control), from phases of the same round and level. */
export interface BendGain {
  against: Variant;
  /** How many phases of each were compared (rounds × levels). */
  pairs: number;
  /** Medians: transitions/s of the shipped API and of `against`. */
  shipped: number;
  without: number;
  /** Median over the pairs of (shipped ÷ without − 1), in %. */
  throughputPct: number;
  /** Median over the pairs of (without − shipped) API CPU per transition, µs. */
  cpuSavedUs: number;
  /** Pairs in which the shipped API was both faster and cheaper. */
  ahead: number;
}

/** Whether a gain is beyond what the control read for two processes of the same code (both figures, and more pairs ahead). */
export function beyond(gain: BendGain, control: BendGain): boolean {
  return (
    gain.throughputPct > Math.abs(control.throughputPct) && gain.cpuSavedUs > Math.abs(control.cpuSavedUs) && gain.ahead > control.ahead
  );
}

function gainOver(phases: Phase[], against: Variant): { gain: BendGain; throughput: number[]; saved: number[] } {
  const mine = phases.filter((phase) => phase.variant === against);
  const shipped = mine.map((phase) => {
    const beside = phases.find(
      (other) => other.variant === SHIPPED && other.round === phase.round && other.concurrency === phase.concurrency,
    );
    if (beside === undefined) throw new Error(`no phase of the shipped API in round ${phase.round} at ${phase.concurrency}`);
    return beside;
  });
  const throughput = shipped.map((phase, index) => (phase.perSecond / (mine[index]?.perSecond ?? NaN) - 1) * 100);
  const saved = shipped.map((phase, index) => cpuUs(mine[index] ?? phase) - cpuUs(phase));
  return {
    gain: {
      against,
      pairs: mine.length,
      shipped: median(shipped.map((phase) => phase.perSecond)),
      without: median(mine.map((phase) => phase.perSecond)),
      throughputPct: median(throughput),
      cpuSavedUs: median(saved),
      ahead: throughput.filter((value, index) => value > 0 && (saved[index] ?? 0) > 0).length,
    },
    throughput,
    saved,
  };
}

/**
 * Prints each variant's transitions/s and API CPU per transition phase by phase (rounds × levels, in the order they
 * ran) with its best rate as a share of pgbench; then what the shipped API gains over each, compared phase by phase
 * in the same round at the same level: first over the control, whose reading is the method's noise floor, then over
 * each bend off and all of them off.
 */
export function printVariants(phases: Phase[], all: Variant[], pgbenchPerSecond: number): BendGain[] {
  console.log('  each API process, phase by phase (round 1 at each level, round 2, …)');
  for (const variant of all) {
    const mine = phases.filter((phase) => phase.variant === variant);
    const best = Math.max(...mine.map((phase) => phase.perSecond));
    console.log(
      `    ${variant.name.padEnd(30)} ${row(
        mine.map((phase) => phase.perSecond),
        5,
      )} transitions/s (best ${((best / pgbenchPerSecond) * 100).toFixed(1)} % of pgbench); API CPU ${row(mine.map(cpuUs), 4)} µs per transition`,
    );
  }
  const foreign = phases.map((phase) => phase.others);
  console.log(
    `  processes outside the bench used a median ${(median(foreign) * 100).toFixed(0)} % of the machine in these phases (at most ${(Math.max(...foreign) * 100).toFixed(0)} %)`,
  );
  const gains: BendGain[] = [];
  for (const variant of all.filter((candidate) => candidate !== SHIPPED)) {
    const { gain, throughput, saved } = gainOver(phases, variant);
    gains.push(gain);
    const [bend] = variant.off;
    const name =
      variant === CONTROL
        ? 'control (the same code in a second process)'
        : variant.off.length === 1 && bend !== undefined
          ? `${BEND_NAMES[bend]} (on vs off)`
          : 'all bends (as shipped vs stock Express 5)';
    const spread = (values: number[], digits: number): string =>
      `${signed(Math.min(...values), digits)} … ${signed(Math.max(...values), digits)}`;
    console.log(
      `  ${name}: ${signed(gain.throughputPct, 1)} % transitions/s (${spread(throughput, 1)}),` +
        ` ${signed(-gain.cpuSavedUs, 0)} µs API CPU per transition (${spread(
          saved.map((value) => -value),
          0,
        )}); faster and cheaper in ${gain.ahead} of ${gain.pairs} phases`,
    );
  }
  return gains;
}
