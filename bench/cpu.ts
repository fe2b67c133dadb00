/**
 * CPU time of this process and everything it started (API or notifier, client processes, pgbench, Postgres
 * backends, the Kafka broker), grouped by role, from /proc (Linux). On a 2-core machine CPU per operation is
 * the figure that decides throughput, so the benchmarks print it beside each rate.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  ms: number;
}

function readProcs(): Proc[] {
  const procs: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      // Own user + system time, plus that of children already reaped (Postgres backends that closed, a pgbench
      // that finished): a process's time moves into its parent's when it exits, so nothing is counted twice.
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      procs.push({ pid: Number(entry), ppid: Number(fields[1]), comm: stat.slice(open + 1, close), ms: ticks * TICK_MS });
    } catch {
      // the process exited while we read
    }
  }
  return procs;
}

export type CpuSnapshot = Map<string, number>;

/** Not a process: CPU time the hypervisor gave to other guests, machine-wide (a shared VM). */
const STOLEN = 'stolen by the hypervisor';

/**
 * CPU ms used so far by this process tree, by role: `self` (this process), one entry per named child pid
 * (`roles`), `postgres`, `kafka` (java) and `other` descendants; and the machine's steal, which is no process's.
 */
export function cpuSnapshot(roles: Record<string, number | undefined>): CpuSnapshot {
  const procs = readProcs();
  const children = new Map<number, Proc[]>();
  for (const proc of procs) children.set(proc.ppid, [...(children.get(proc.ppid) ?? []), proc]);
  const roleOf = new Map<number, string>(
    Object.entries(roles).flatMap(([role, pid]) => (pid === undefined ? [] : [[pid, role] as [number, string]])),
  );
  const totals: CpuSnapshot = new Map();
  const visit = (proc: Proc, inherited: string | undefined): void => {
    const role =
      proc.pid === process.pid
        ? 'self'
        : (roleOf.get(proc.pid) ?? inherited ?? (proc.comm.startsWith('postgres') ? 'postgres' : proc.comm === 'java' ? 'kafka' : 'other'));
    totals.set(role, (totals.get(role) ?? 0) + proc.ms);
    // Postgres backends are children of the postmaster, the broker's threads are one process.
    for (const child of children.get(proc.pid) ?? []) visit(child, role === 'self' ? undefined : role);
  };
  const self = procs.find((proc) => proc.pid === process.pid);
  if (self !== undefined) visit(self, undefined);
  totals.set(STOLEN, machineTicks().stealTicks * TICK_MS);
  return totals;
}

/** `role 1.2 s (60 %)` for each role between two snapshots (100 % = one core), and the total of the processes. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot, wallMs: number): { totalMs: number; text: string } {
  const parts: string[] = [];
  let totalMs = 0;
  for (const [role, used] of usedBetween(before, after)) {
    if (role !== STOLEN) totalMs += used;
    parts.push(`${role} ${(used / 1000).toFixed(2)} s (${Math.round((100 * used) / wallMs)} %)`);
  }
  return { totalMs, text: parts.join(', ') };
}

/** The ms each entry of two snapshots (roles, process kinds, threads) used between them, where it used any, most first. */
export function usedBetween(before: Map<string, number>, after: Map<string, number>): Array<readonly [string, number]> {
  return [...after]
    .map(([role, ms]) => [role, ms - (before.get(role) ?? 0)] as const)
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1]);
}

export interface SchedSnapshot {
  at: number;
  /** The process's main thread: ns on a CPU, ns runnable but waiting for one (/proc/<pid>/schedstat). */
  runNs: number;
  waitNs: number;
  /** Idle ticks of the whole machine (/proc/stat), USER_HZ. */
  idleTicks: number;
  /** Ticks the hypervisor gave this machine's CPUs to someone else (/proc/stat "steal"), USER_HZ. */
  stealTicks: number;
}

/** Scheduler counters of `pid`'s main thread and of the machine (Linux), to tell CPU-bound from waiting. */
export function schedSnapshot(pid: number): SchedSnapshot {
  const [runNs, waitNs] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  return { at: performance.now(), runNs: runNs ?? 0, waitNs: waitNs ?? 0, ...machineTicks() };
}

/** The machine's idle and steal ticks so far (/proc/stat: user nice system idle iowait irq softirq steal). */
function machineTicks(): { idleTicks: number; stealTicks: number } {
  const fields = (/^cpu +(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '').split(' ').map(Number);
  return { idleTicks: fields[3] ?? 0, stealTicks: fields[7] ?? 0 };
}

/**
 * The share of the machine's CPU time the hypervisor gave to other guests since `before` (a shared VM: while
 * it is high, every figure of that phase is slower than the code is).
 */
export function stolenSince(before: { at: number; stealTicks: number }, cores: number): number {
  return machineShare(machineTicks().stealTicks - before.stealTicks, performance.now() - before.at, cores);
}

/** `ticks` of the whole machine as a share of `wallMs` on `cores` CPUs. */
const machineShare = (ticks: number, wallMs: number, cores: number): number => (ticks * TICK_MS) / (wallMs * cores);

/** A starting point for stolenSince. */
export function stealSnapshot(): { at: number; stealTicks: number } {
  return { at: performance.now(), stealTicks: machineTicks().stealTicks };
}

/** Between two snapshots: the share of wall time the thread ran, the share it waited for a CPU, and the machine's idle and stolen shares. */
export function schedBetween(
  before: SchedSnapshot,
  after: SchedSnapshot,
  cores: number,
): { ran: number; waited: number; idle: number; stolen: number } {
  const wallMs = after.at - before.at;
  return {
    ran: (after.runNs - before.runNs) / (wallMs * 1e6),
    waited: (after.waitNs - before.waitNs) / (wallMs * 1e6),
    idle: machineShare(after.idleTicks - before.idleTicks, wallMs, cores),
    stolen: machineShare(after.stealTicks - before.stealTicks, wallMs, cores),
  };
}

/**
 * CPU µs this process spends per timer wakeup while otherwise idle (`count` × setTimeout 1 ms): a figure of the
 * machine, not of the code. Every hop of the pipeline (an HTTP request, a query's answer, a WAL message, a Kafka
 * fetch, a socket ack) wakes a process, ~30 per release end to end, so on a VM where a wakeup costs ~100 µs the
 * hops alone cost milliseconds of CPU per event. Compare runs on different days by it.
 */
export async function wakeupCostUs(count = 500): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < count; i += 1) await new Promise((resolve) => setTimeout(resolve, 1));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

/** Postgres's own processes by the title they run under (`postgres: walwriter`); any other title is a connection. */
const POSTGRES_PROCESSES = [
  'walwriter',
  'checkpointer',
  'background writer',
  'autovacuum launcher',
  'autovacuum worker',
  'walsender',
  'logical replication',
  'io worker',
  'archiver',
  'walsummarizer',
];

/**
 * CPU ms used so far by each kind of Postgres process on this machine (`backend` for client connections,
 * `walwriter`, `checkpointer`, `autovacuum worker`, `walsender`, …, from /proc/<pid>/cmdline; `postmaster` holds the
 * time of backends that already exited). Tells a statement's CPU from the server's housekeeping around it.
 */
export function postgresSnapshot(): CpuSnapshot {
  const totals: CpuSnapshot = new Map();
  for (const proc of readProcs()) {
    if (!proc.comm.startsWith('postgres')) continue;
    let kind = 'postmaster';
    try {
      const title = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      const match = /^postgres: (?:[\w-]+: )?(.*)$/.exec(title);
      if (match !== null) {
        const rest = match[1] ?? '';
        kind = POSTGRES_PROCESSES.find((name) => rest.startsWith(name)) ?? 'backend';
      }
    } catch {
      continue;
    }
    totals.set(kind, (totals.get(kind) ?? 0) + proc.ms);
  }
  return totals;
}

/** The pid of the Kafka broker this process started (`java … kafka.Kafka`), if any. */
export function brokerPid(): number | undefined {
  const procs = readProcs();
  const mine = new Set([process.pid]);
  // Parents come before their children often but not always: repeat until no new descendant turns up.
  for (let grown = true; grown;) {
    grown = false;
    for (const proc of procs) {
      if (!mine.has(proc.pid) && mine.has(proc.ppid)) {
        mine.add(proc.pid);
        grown = true;
      }
    }
  }
  return procs.find((proc) => {
    if (proc.comm !== 'java' || !mine.has(proc.pid)) return false;
    try {
      return readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0').includes('kafka.Kafka');
    } catch {
      return false;
    }
  })?.pid;
}
