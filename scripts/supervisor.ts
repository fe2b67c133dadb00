import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { backoffDelay } from '@settle/backoff';
import { APP_NODE_FLAGS, repoRoot, type Config } from '@settle/config';
import { guardChild, waitForExit } from '@settle/stack';

export interface AppSpec {
  name: string;
  env: NodeJS.ProcessEnv;
  /** The script to run. @default apps/<name>/src/main.ts */
  entry?: string;
}

interface RunningApp {
  spec: AppSpec;
  child: ChildProcess;
  /** When each restart of this app happened, for crash-loop detection. */
  restarts: number[];
  startedAt: number;
  timer?: NodeJS.Timeout;
}

/** How a crashed app is restarted, and when restarting stops being the answer. */
export interface RestartPolicy {
  /** The longest wait before a restart; it grows from baseMs by factor per consecutive crash (full jitter). */
  baseMs: number;
  factor: number;
  capMs: number;
  /** This many restarts of one app within loopWindowMs is a crash loop: the stack stops. */
  loopRestarts: number;
  loopWindowMs: number;
}

/** @default 0.5 s doubling up to 15 s; 5 restarts in a minute is a crash loop */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { baseMs: 500, factor: 2, capMs: 15_000, loopRestarts: 5, loopWindowMs: 60_000 };

export interface SupervisorEvents {
  /** One line for the operator (a crash and its restart). */
  say(line: string): void;
  /** An app crashes faster than restarting can help: stop everything, saying which app and why. */
  crashLoop(name: string, reason: string): void;
  /** A line an app wrote (stdout or stderr). @default to stdout, prefixed with `[<app>] ` */
  output?(name: string, line: string): void;
}

const describeExit = (code: number | null, signal: NodeJS.Signals | null): string =>
  signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;

/** The environment the supervised apps run with: the stack's addresses and the local development settings. */
export function appEnvironment(
  config: Pick<Config, 'NODE_ENV' | 'DEV_AUTH' | 'JWT_SECRET' | 'WEBHOOK_ALLOWED_HOSTS' | 'PORT' | 'NOTIFIER_PORT'>,
  databaseUrl: string,
  brokers: string[],
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: brokers.join(','),
    DEV_AUTH: config.DEV_AUTH ? '1' : '0',
    ...(config.JWT_SECRET !== undefined ? { JWT_SECRET: config.JWT_SECRET } : {}),
    // Local webhook receivers; production allows only what WEBHOOK_ALLOWED_HOSTS names.
    ...(config.NODE_ENV !== 'production' && config.WEBHOOK_ALLOWED_HOSTS.length === 0
      ? { WEBHOOK_ALLOWED_HOSTS: 'localhost,127.0.0.1,::1' }
      : {}),
    // The desk is served by the API (and by `npm run dev -w @settle/web` on 5173); its sockets go to the notifier.
    NOTIFIER_PUBLIC_URL: process.env['NOTIFIER_PUBLIC_URL'] ?? `http://localhost:${config.NOTIFIER_PORT}`,
    ...(process.env['NOTIFIER_ALLOWED_ORIGINS'] === undefined && config.NODE_ENV !== 'production'
      ? {
          NOTIFIER_ALLOWED_ORIGINS: [`http://localhost:${config.PORT}`, `http://127.0.0.1:${config.PORT}`, 'http://localhost:5173'].join(
            ',',
          ),
        }
      : {}),
    SETTLE_SUPERVISED: '1',
  };
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

/**
 * Runs each app as `node --import tsx apps/<name>/src/main.ts` with its output prefixed by its name, and restarts
 * one that crashes after a growing, jittered delay. Only a crash loop (loopRestarts within loopWindowMs) gives up.
 */
export class Supervisor {
  private readonly running = new Map<string, RunningApp>();
  private stopping = false;

  constructor(
    private readonly events: SupervisorEvents,
    private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY,
  ) {}

  start(spec: AppSpec): void {
    const app: RunningApp = { spec, child: this.spawn(spec), restarts: [], startedAt: Date.now() };
    this.running.set(spec.name, app);
    this.watch(app);
  }

  /** The pid of an app's current process (a restart gives a new one). */
  pidOf(name: string): number | undefined {
    return this.running.get(name)?.child.pid;
  }

  private watch(app: RunningApp): void {
    app.child.once('exit', (code, signal) => {
      if (this.stopping) return;
      const now = Date.now();
      const window = this.policy.loopWindowMs;
      app.restarts = app.restarts.filter((at) => now - at < window);
      const what = `${app.spec.name} ${describeExit(code, signal)}`;
      if (app.restarts.length >= this.policy.loopRestarts) {
        this.events.crashLoop(
          app.spec.name,
          `${what} after ${app.restarts.length} restarts in ${Math.round(window / 1000)} s: a crash loop, see its log lines above`,
        );
        return;
      }
      // Consecutive crashes (no quiet window since the last restart) wait longer each time.
      const consecutive = now - app.startedAt < window ? app.restarts.length : 0;
      const delay = backoffDelay(consecutive + 1, this.policy);
      app.restarts.push(now);
      this.events.say(
        `[supervisor] ${what}; restarting it in ${(delay / 1000).toFixed(1)} s (restart ${app.restarts.length} within ${Math.round(window / 1000)} s)`,
      );
      app.timer = setTimeout(() => {
        if (this.stopping) return;
        app.child = this.spawn(app.spec);
        app.startedAt = Date.now();
        this.watch(app);
      }, delay);
    });
  }

  private spawn(spec: AppSpec): ChildProcess {
    const entry = spec.entry ?? path.join(repoRoot, 'apps', spec.name, 'src', 'main.ts');
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
      readline
        .createInterface({ input: stream })
        .on('line', (line) =>
          this.events.output === undefined ? process.stdout.write(`[${spec.name}] ${line}\n`) : this.events.output(spec.name, line),
        );
    }
    return child;
  }

  /** SIGTERM to every app at once; SIGKILL to any still alive after 10 s. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.running.values()].map(async (app) => {
        clearTimeout(app.timer);
        const pid = app.child.pid;
        if (pid === undefined || app.child.exitCode !== null) return;
        app.child.kill('SIGTERM');
        if (!(await waitForExit(pid, 10_000))) app.child.kill('SIGKILL');
      }),
    );
  }
}
