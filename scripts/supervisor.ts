import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { APP_NODE_FLAGS, repoRoot } from '@settle/config';
import { guardChild, waitForExit } from '@settle/stack';

export interface AppSpec {
  name: string;
  env: NodeJS.ProcessEnv;
}

interface RunningApp {
  name: string;
  child: ChildProcess;
}

/** The apps that exist in this checkout (apps/<name>/src/main.ts), in start order. */
export function availableApps(order: string[]): string[] {
  return order.filter((name) => fs.existsSync(path.join(repoRoot, 'apps', name, 'src', 'main.ts')));
}

/**
 * Waits until something answers HTTP on 127.0.0.1:`port` `/health` (any status: a relay reporting a lost slot
 * still counts as started). Resolves false after `timeoutMs`.
 */
export async function waitForHttp(port: number, timeoutMs = 90_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answered = await new Promise<boolean>((resolve) => {
      const request = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 2_000 }, (response) => {
        response.resume();
        resolve(true);
      });
      request.on('error', () => resolve(false));
      request.on('timeout', () => {
        request.destroy();
        resolve(false);
      });
    });
    if (answered) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** Seconds an app gets to stop by itself once its supervisor is gone: its 1 s parent watch + 15 s graceful stop, and some. */
const APP_STOP_GRACE_SECONDS = 20;

/** Runs each app as `node --import tsx apps/<name>/src/main.ts` with its output prefixed by its name. */
export class Supervisor {
  private readonly running: RunningApp[] = [];
  private stopping = false;

  constructor(private readonly onUnexpectedExit: (name: string, code: number | null) => void) {}

  start(spec: AppSpec): void {
    const entry = path.join(repoRoot, 'apps', spec.name, 'src', 'main.ts');
    const child = spawn(process.execPath, [...(APP_NODE_FLAGS[spec.name] ?? []), '--import', 'tsx', entry], {
      cwd: repoRoot,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C or a signal to npm's group reaches only the supervisor, which then stops
      // each app once, in order. (A second signal makes an app exit at once, skipping e.g. leaving its Kafka
      // group, which made the next start wait out the session timeout.)
      detached: true,
    });
    // If this supervisor is SIGKILLed, each app notices (its parent changes) and stops by itself. The guard is
    // for an app that cannot: one whose main thread is stuck, as a fresh-clone test run once saw (a worker
    // blocked in a futex during module loading, alive 10 min after its supervisor).
    if (child.pid !== undefined) guardChild(child.pid, 'TERM', { graceSeconds: APP_STOP_GRACE_SECONDS });
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${spec.name}] ${line}\n`));
    }
    child.once('exit', (code) => {
      if (!this.stopping) this.onUnexpectedExit(spec.name, code);
    });
    this.running.push({ name: spec.name, child });
  }

  /** SIGTERM to every app at once; SIGKILL to any still alive after 10 s. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.running.map(async (app) => {
        const pid = app.child.pid;
        if (pid === undefined || app.child.exitCode !== null) return;
        app.child.kill('SIGTERM');
        if (!(await waitForExit(pid, 10_000))) app.child.kill('SIGKILL');
      }),
    );
  }
}
