/**
 * Where the Kafka broker spends its CPU in one window of bench:relay: the CPU of each of its threads (the JVM's own
 * per-thread counters, read with `jcmd Thread.print`, so request handlers, network threads, GC and the JIT are told
 * apart), and with BENCH_BROKER_PROFILE=<dir> a Java Flight Recorder recording of the window with its hottest
 * methods. Both go through `jcmd`, which ships with the JDK that runs the broker; without it the figures are left
 * out and the bench goes on.
 */
import { execFile } from 'node:child_process';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { usedBetween } from '../cpu';

const run = promisify(execFile);
const LARGE = { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 };

/** CPU ms per group of broker threads (a thread's name without its numbers: the four request handlers are one). */
export type ThreadCpu = Map<string, number>;

const groupOf = (name: string): string =>
  name
    .replace(/#\d+/g, '')
    .replace(/-\d+(?=-|$)/g, '')
    .replace(/\d+$/, '');

/** The JVM's CPU time of each thread group of `pid` so far; undefined when jcmd cannot attach. */
export async function threadCpu(pid: number): Promise<ThreadCpu | undefined> {
  try {
    const { stdout } = await run('jcmd', [String(pid), 'Thread.print'], LARGE);
    const groups: ThreadCpu = new Map();
    for (const match of stdout.matchAll(/^"(.+?)" .*?cpu=([\d.]+)ms/gm)) {
      const group = groupOf(match[1] ?? '');
      groups.set(group, (groups.get(group) ?? 0) + Number(match[2]));
    }
    return groups;
  } catch {
    return undefined;
  }
}

/** `data-plane-kafka-request-handler 31.0, …`: each group's CPU ms per 1k events between two readings, most first. */
export function threadCpuPerThousand(before: ThreadCpu | undefined, after: ThreadCpu | undefined, events: number, top = 7): string {
  if (before === undefined || after === undefined) return 'not read (jcmd could not attach to the broker)';
  const used = usedBetween(before, after).filter(([, ms]) => ms >= 0.5);
  const shown = used.slice(0, top).map(([group, ms]) => `${group} ${((ms * 1000) / events).toFixed(1)}`);
  const rest = used.slice(top).reduce((sum, [, ms]) => sum + ms, 0);
  return [...shown, ...(rest > 0 ? [`other threads ${((rest * 1000) / events).toFixed(1)}`] : [])].join(', ');
}

/** How often the recording samples running Java code: the JDK's `profile` settings take every 10 ms, too few for a 15 s window. */
const SAMPLE_PERIOD = '1 ms';

/** The JDK's `profile` recording settings with a 1 ms execution sample period, written into `dir` once. */
async function settingsFile(pid: number, dir: string): Promise<string> {
  const java = await readlink(`/proc/${pid}/exe`);
  const profile = await readFile(path.join(path.dirname(java), '..', 'lib', 'jfr', 'profile.jfc'), 'utf8');
  const file = path.join(dir, 'broker-profile.jfc');
  const sampled = profile.replace(
    /(<event name="jdk.ExecutionSample">[\s\S]*?<setting name="period"[^>]*>)[^<]*(<)/,
    `$1${SAMPLE_PERIOD}$2`,
  );
  await writeFile(file, sampled);
  return file;
}

/** A Java Flight Recorder recording of the broker; `stop` writes it and returns its hottest methods. */
export async function recordBroker(pid: number, dir: string, name: string): Promise<{ stop(): Promise<string> } | undefined> {
  const recording = `bench-${name}`;
  try {
    const settings = await settingsFile(pid, dir);
    await run('jcmd', [String(pid), 'JFR.start', `name=${recording}`, `settings=${settings}`], LARGE);
  } catch {
    return undefined;
  }
  return {
    async stop() {
      const file = path.join(dir, `${name}.jfr`);
      await run('jcmd', [String(pid), 'JFR.stop', `name=${recording}`, `filename=${file}`], LARGE);
      return `${file}: ${await hottestMethods(file)}`;
    },
  };
}

/**
 * The methods on top of the most execution samples of a recording (self), and what the broker was doing in them:
 * for a request handler the KafkaApis method below `KafkaApis.handle` (handleProduceRequest, tryCompleteActions, …),
 * for other threads the method called by their outermost Kafka frame (a network thread's poll, …).
 */
async function hottestMethods(file: string, top = 8): Promise<string> {
  const { stdout } = await run('jfr', ['print', '--events', 'jdk.ExecutionSample', '--stack-depth', '64', file], LARGE);
  const self = new Map<string, number>();
  const activities = new Map<string, number>();
  let samples = 0;
  for (const match of stdout.matchAll(/stackTrace = \[([\s\S]*?)\n\s*\]/g)) {
    const frames = (match[1] ?? '').split('\n').flatMap((line) => /^\s*(\S+?)\(/.exec(line)?.[1] ?? []);
    const [first] = frames;
    if (first === undefined) continue;
    samples += 1;
    self.set(first, (self.get(first) ?? 0) + 1);
    const activity = activityOf(frames);
    activities.set(activity, (activities.get(activity) ?? 0) + 1);
  }
  if (samples === 0) return 'no execution samples';
  const shares = (counts: Map<string, number>): string =>
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([method, count]) => `${method} ${Math.round((100 * count) / samples)} %`)
      .join(', ');
  return `${samples} samples\n        self: ${shares(self)}\n        doing: ${shares(activities)}`;
}

const isKafka = (frame: string): boolean => frame.startsWith('kafka.') || frame.startsWith('org.apache.kafka.');

/** The frame a sample's thread called from its request dispatch or run loop (frames listed top first). */
function activityOf(frames: string[]): string {
  const dispatch = frames.indexOf('kafka.server.KafkaApis.handle');
  if (dispatch > 0) return frames[dispatch - 1] ?? '?';
  const outermost = frames.findLastIndex(isKafka);
  if (outermost < 0) return '(no Kafka frame)';
  return frames[Math.max(0, outermost - 1)] ?? '?';
}

/**
 * Brackets one window: reads the broker's thread CPU (and starts a recording into `profileDir`, when given) now;
 * `finish` reads it again and describes the window per 1k of its events.
 */
export async function watchBroker(
  pid: number | undefined,
  profileDir: string | undefined,
  name: string,
): Promise<{ finish(events: number): Promise<string> }> {
  if (pid === undefined) return { finish: () => Promise.resolve('broker threads: not read (the broker is not this bench’s)') };
  const before = await threadCpu(pid);
  const recording = profileDir === undefined ? undefined : await recordBroker(pid, profileDir, name);
  return {
    async finish(events) {
      const hottest = recording === undefined ? undefined : await recording.stop();
      const threads = threadCpuPerThousand(before, await threadCpu(pid), events);
      return `broker threads, CPU ms per 1k events: ${threads}${hottest === undefined ? '' : `\n      JFR ${hottest}`}`;
    },
  };
}
