import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { APP_NODE_FLAGS, loadConfig, repoRoot } from '@settle/config';
import { createPool, setupRelaySlot, type Pool } from '@settle/db';
import { startRelay, type Relay } from '@settle/relay';
import { freePort } from '@settle/stack';
import { createTestDatabase, createTestTopics, testStack, type TestDatabase, sleep } from '@settle/testkit';

/** The API (serving the built desk), the relay and the notifier on a database and topic of this file's own. */
export interface DeskStack {
  apiUrl: string;
  notifierUrl: string;
  pool: Pool;
  stop(): Promise<void>;
}

const JWT_SECRET = `desk-test-${randomBytes(8).toString('hex')}`;

function startApp(name: 'api' | 'notifier', env: Record<string, string>, log: string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    [...(APP_NODE_FLAGS[name] ?? []), '--import', 'tsx', path.join(repoRoot, `apps/${name}/src/main.ts`)],
    {
      env: { PATH: process.env['PATH'], NODE_ENV: 'test', LOG_LEVEL: 'warn', JWT_SECRET, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => log.push(`[${name}] ${chunk.toString()}`));
  return child;
}

async function waitForHttp(url: string, what: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}: ${what()}`);
    await sleep(100);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export async function startDeskStack(): Promise<DeskStack> {
  const log: string[] = [];
  const db: TestDatabase = await createTestDatabase('web');
  const pool = createPool(db.url, { max: 3 });
  const { events: topic = '' } = await createTestTopics('web', [{ name: 'events', numPartitions: 3 }]);
  const brokers = testStack().kafkaBrokers.join(',');
  const slot = `web_${randomBytes(5).toString('hex')}`;
  await setupRelaySlot(pool, slot, 'settle_outbox_pub');
  const relay: Relay = await startRelay({
    config: loadConfig({
      LOG_LEVEL: 'error',
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers,
      ORDER_EVENTS_TOPIC: topic,
      ORDER_EVENTS_PARTITIONS: '3',
      RELAY_SLOT: slot,
      RELAY_HEARTBEAT_MS: '250',
    }),
    port: null,
  });
  const [apiPort, notifierPort] = [await freePort(), await freePort()];
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const notifierUrl = `http://127.0.0.1:${notifierPort}`;
  const notifier = startApp(
    'notifier',
    {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers,
      ORDER_EVENTS_TOPIC: topic,
      NOTIFIER_PORT: String(notifierPort),
      NOTIFIER_GROUP_ID: `settle-notifier-${slot}`,
      NOTIFIER_ALLOWED_ORIGINS: apiUrl,
      NOTIFIER_DLT_MIRROR: '0',
      NOTIFIER_COMMIT_INTERVAL_MS: '0',
    },
    log,
  );
  const api = startApp(
    'api',
    {
      DATABASE_URL: db.url,
      PORT: String(apiPort),
      DEV_AUTH: '1',
      NOTIFIER_PUBLIC_URL: notifierUrl,
      API_RATE_LIMIT_PRINCIPAL: '1000000',
      API_RATE_LIMIT_ANONYMOUS: '1000000',
    },
    log,
  );
  const stop = async (): Promise<void> => {
    await Promise.all([stopChild(api), stopChild(notifier)]);
    await relay.stop();
    await pool.end();
    await db.drop();
  };
  try {
    await Promise.all([waitForHttp(`${apiUrl}/health`, () => log.join('')), waitForHttp(`${notifierUrl}/ready`, () => log.join(''))]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { apiUrl, notifierUrl, pool, stop };
}
