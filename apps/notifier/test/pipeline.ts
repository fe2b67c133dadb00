import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { APP_NODE_FLAGS, loadConfig, repoRoot } from '@settle/config';
import { setupRelaySlot, type Pool } from '@settle/db';
import { startRelay, type Relay } from '@settle/relay';
import { freePort } from '@settle/stack';
import { callApi, sleep, testStack, waitFor, type ApiAnswer } from '@settle/testkit';
import { JWT_SECRET } from './support';

/** The Order API as its own process (apps/api/src/main.ts, main.ts's wiring), with dev tokens on. */
export interface ApiProcess {
  url: string;
  /** Everything it wrote to stdout and stderr, line by line. */
  log: string[];
  /** testkit's callApi on this API. */
  call<T>(
    method: string,
    route: string,
    token: string | undefined,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiAnswer<T>>;
  devToken(role: 'user' | 'merchant', id: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the API on `databaseUrl` (tokens signed with the notifier tests' JWT_SECRET) and waits until it answers. */
export async function spawnApi(databaseUrl: string, env: Record<string, string> = {}): Promise<ApiProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const child = spawn(
    process.execPath,
    [...(APP_NODE_FLAGS['api'] ?? []), '--import', 'tsx', path.join(repoRoot, 'apps/api/src/main.ts')],
    {
      env: {
        PATH: process.env['PATH'],
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        DEV_AUTH: '1',
        JWT_SECRET,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (chunk: Buffer) => log.push(...chunk.toString().split('\n').filter(Boolean)));
  const call: ApiProcess['call'] = (method, route, token, body, headers) => callApi(url, method, route, token, body, headers);
  const api: ApiProcess = {
    url,
    log,
    call,
    devToken: async (role, id) => (await call<{ token: string }>('POST', '/v1/dev/tokens', undefined, { role, id })).body.token,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
    },
  };
  await waitFor(
    async () => {
      try {
        return (await fetch(`${url}/health`)).ok;
      } catch {
        return false;
      }
    },
    () => `the API (${log.join('\n')})`,
    60_000,
  );
  return api;
}

/** The WAL relay in-process on a slot of its own, publishing `topic` (3 partitions). */
export async function startPipelineRelay(pool: Pool, databaseUrl: string, topic: string, prefix: string): Promise<Relay> {
  const slot = `${prefix}_${randomBytes(5).toString('hex')}`;
  await setupRelaySlot(pool, slot, 'settle_outbox_pub');
  return startRelay({
    config: loadConfig({
      LOG_LEVEL: 'error',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
      ORDER_EVENTS_TOPIC: topic,
      ORDER_EVENTS_PARTITIONS: '3',
      RELAY_SLOT: slot,
      RELAY_HEARTBEAT_MS: '250',
    }),
    port: null,
  });
}
