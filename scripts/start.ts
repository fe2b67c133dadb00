/**
 * `npm start`: brings up Postgres + Kafka (embedded defaults, or DATABASE_URL / KAFKA_BROKERS), migrates,
 * creates topics, starts every app that exists, prints what runs where, and on Ctrl-C / SIGTERM stops the
 * apps, then Kafka and Postgres, leaving no process behind.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { signToken } from '@settle/auth';
import { dataDir, loadConfig, type AuthConfig, type Config, type LocalStackConfig } from '@settle/config';
import { createPool, ensureDatabase, upsertAccount } from '@settle/db';
import { redact, startStack, StackError, type RunningStack } from '@settle/stack';
import { prepareSystem } from './prepare';
import { appEnvironment, availableApps, Supervisor, waitForHttp } from './supervisor';

const APP_ORDER = ['relay', 'worker', 'notifier', 'api'];
const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const base = loadConfig({ DEV_AUTH: '1', ...process.env });
  // Tokens printed below stay valid across restarts: the dev signing secret is kept beside the data.
  const config = base.JWT_SECRET !== undefined || base.JWKS_URL !== undefined ? base : { ...base, JWT_SECRET: await devSecret(base) };
  const began = Date.now();

  const running: { stack?: RunningStack; supervisor?: Supervisor } = {};
  let shuttingDown = false;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    // Only the first request stops things; later ones (a second signal, the parent exiting meanwhile) must not
    // exit in the middle of it and orphan the apps.
    if (shuttingDown) return;
    shuttingDown = true;
    say(`\nstopping (${reason})…`);
    await running.supervisor?.stopAll();
    await running.stack?.stop();
    say('stopped: no Settle process is left running');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal, 0));
  // If whatever started us (npm, a shell) dies without a signal, we are re-parented: stop too.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void shutdown('parent process exited', 0);
  }, 1_000).unref();

  say('starting Settle…');
  const stack = await startStack({ config, mode: 'persistent', onProgress: (line) => say(`  ${line}`) });
  running.stack = stack;
  const databaseUrl = stack.external.postgres ? stack.databaseUrl : await ensureDatabase(stack.databaseUrl, 'settle');
  try {
    await prepareSystem(config, databaseUrl, stack.kafkaBrokers, (line) => say(`  ${line}`));
  } catch (error) {
    // Postgres and Kafka are up by now: stop them rather than leave them behind.
    process.stderr.write(`settle: ${error instanceof Error ? error.message : String(error)}\n`);
    return shutdown('setup failed', 1);
  }

  const tokens = config.DEV_AUTH ? await seedDemoAccounts(config, databaseUrl) : [];

  const supervisor = new Supervisor({ say, crashLoop: (_name, reason) => void shutdown(reason, 1) });
  running.supervisor = supervisor;
  const apps = availableApps(APP_ORDER);
  const env = appEnvironment(config, databaseUrl, stack.kafkaBrokers);
  for (const name of apps) supervisor.start({ name, env });
  const ports: Record<string, number> = {
    api: config.PORT,
    notifier: config.NOTIFIER_PORT,
    relay: config.RELAY_PORT,
    worker: config.WORKER_PORT,
  };
  const late = (await Promise.all(apps.map(async (name) => ((await waitForHttp(ports[name] ?? 0)) ? undefined : name)))).filter(
    (name) => name !== undefined,
  );
  if (late.length > 0) say(`  warning: ${late.join(', ')} did not answer on its port yet; see its log lines`);

  say('');
  say(`Settle is up in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  say(`  postgres   ${redact(databaseUrl)}`);
  say(`  kafka      ${stack.kafkaBrokers.join(',')}`);
  for (const line of describeApps(apps, config)) say(`  ${line}`);
  if (tokens.length > 0) {
    say('');
    say('Demo accounts (dev auth is on; tokens valid 7 days; more from POST /v1/dev/tokens):');
    for (const line of tokens) say(`  ${line}`);
  }
  say('Press Ctrl-C to stop.');
}

async function devSecret(config: Pick<LocalStackConfig, 'SETTLE_DATA_DIR'>): Promise<string> {
  const file = path.join(dataDir(config), 'jwt-secret');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const secret = randomBytes(32).toString('hex');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, secret, { mode: 0o600 });
    return secret;
  }
}

/** Demo accounts with profile wallets on tron (the default network) and ethereum. */
const DEMO_ACCOUNTS = [
  {
    kind: 'merchant',
    id: 'merchant-alpha',
    name: 'Alpha Exchange',
    wallets: { tron: 'TXora7GwjJtYkm8MZ3W3W68yYfg5rqDEXg', ethereum: '0xeF8dF82688dB8bEDfe599B96c508A667bDF5fbaF' },
  },
  {
    kind: 'merchant',
    id: 'merchant-beta',
    name: 'Beta OTC',
    wallets: { tron: 'TYoLqfi2FCX7sXi1oKYKt5U2iMb43LdiAh', ethereum: '0xFA6d46bcAdb82C4A926F02b609CB115B8D9EA12b' },
  },
  {
    kind: 'user',
    id: 'user-ana',
    name: 'Ana',
    wallets: { tron: 'TYa9gFzQgP7rguMEUAL8cb2HKVosQtGPJQ', ethereum: '0xf7EE8d12322E32b743Ae8Af34992687EFB784e10' },
  },
  {
    kind: 'user',
    id: 'user-bo',
    name: 'Bo',
    wallets: { tron: 'TDYKhPfCijN8dH8bALQfiMVF4DUQDP2a3t', ethereum: '0x272bB1703742bf2dbFB6563A23A8F1cDb16992a4' },
  },
  { kind: 'compliance', id: 'compliance-1', name: 'Compliance desk', wallets: {} },
] as const satisfies ReadonlyArray<{
  kind: 'merchant' | 'user' | 'compliance';
  id: string;
  name: string;
  wallets: Partial<Record<'tron' | 'ethereum', string>>;
}>;

/** Seeds two merchants, two users and a compliance officer; returns one line per account with its token. */
async function seedDemoAccounts(
  config: Pick<AuthConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
  databaseUrl: string,
): Promise<string[]> {
  const pool = createPool(databaseUrl, { max: 1, applicationName: 'settle-start' });
  try {
    const lines: string[] = [];
    for (const account of DEMO_ACCOUNTS) {
      await upsertAccount(pool, { kind: account.kind, id: account.id, name: account.name });
      for (const [network, address] of Object.entries(account.wallets) as Array<['tron' | 'ethereum', string]>) {
        await upsertAccount(pool, { kind: account.kind, id: account.id, wallet: { network, address } });
      }
      const token = await signToken(config, { role: account.kind, id: account.id }, 7 * 24 * 3600);
      lines.push(`${account.kind.padEnd(10)} ${account.id.padEnd(15)} ${token}`);
    }
    return lines;
  } finally {
    await pool.end();
  }
}

function describeApps(
  apps: string[],
  config: Pick<Config, 'PORT' | 'NOTIFIER_PORT' | 'RELAY_PORT' | 'WORKER_PORT' | 'ORDER_EVENTS_TOPIC'>,
): string[] {
  const where: Record<string, string> = {
    api: `http://localhost:${config.PORT}  (merchant desk /, docs /docs, OpenAPI /openapi.json)`,
    notifier: `http://localhost:${config.NOTIFIER_PORT}  (socket.io)`,
    relay: `http://localhost:${config.RELAY_PORT}/metrics  (WAL → ${config.ORDER_EVENTS_TOPIC})`,
    worker: `http://localhost:${config.WORKER_PORT}/metrics  (timers, cleanup)`,
  };
  return apps.map((name) => `${name.padEnd(10)} ${where[name] ?? ''}`);
}

main().catch((error: unknown) => {
  const message = error instanceof StackError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`settle: ${message}\n`);
  process.exit(1);
});
