import { spawn, spawnSync } from 'node:child_process';

/** True when a process with this pid exists (signal 0 probes without killing). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when `command` can be run; `args` should make it print its version and exit. */
export function commandExists(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/**
 * Starts a detached shell that stops `childPid` as soon as `owner` is gone: it sends `signal`, then KILL after
 * 10 s. So a SIGKILLed owner never leaves a broker, a database or an app running. The shell exits by itself
 * once the child is gone.
 * @param signal TERM suits java; Postgres wants INT (fast shutdown: TERM would wait for clients).
 * @param options.graceSeconds how long the child gets to stop by itself after the owner is gone, before the
 *   signal (apps watch their supervisor and stop cleanly; the guard covers one that cannot, e.g. stuck at start-up)
 */
export function guardChild(
  childPid: number,
  signal: 'TERM' | 'INT' = 'TERM',
  options: { owner?: number; graceSeconds?: number } = {},
): void {
  const { owner = process.pid, graceSeconds = 0 } = options;
  const script = [
    `while kill -0 ${owner} 2>/dev/null && kill -0 ${childPid} 2>/dev/null; do sleep 1; done`,
    `i=0; while [ $i -lt ${graceSeconds} ] && kill -0 ${childPid} 2>/dev/null; do sleep 1; i=$((i + 1)); done`,
    `if kill -0 ${childPid} 2>/dev/null; then kill -${signal} ${childPid} 2>/dev/null;`,
    `  for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 ${childPid} 2>/dev/null || exit 0; sleep 1; done;`,
    `  kill -KILL ${childPid} 2>/dev/null; fi`,
  ].join('\n');
  const guard = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  guard.unref();
}

/** Waits until `pid` has exited, polling; resolves false if it is still alive after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isAlive(pid);
}
