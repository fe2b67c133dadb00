/**
 * `npm start`: brings up Postgres + Kafka (embedded defaults, or DATABASE_URL / KAFKA_BROKERS), migrates,
 * creates topics, starts every app that exists, prints what runs where, and on Ctrl-C / SIGTERM stops the
 * apps, then Kafka and Postgres, leaving no process behind.
 */
import { loadConfig, type Config } from '@settle/config';
import { createPool, ensureDatabase, migrate, setupRelaySlot } from '@settle/db';
import { createKafka, ensureTopics, orderTopics } from '@settle/kafka';
import { redact, startStack, StackError, takeOverShutdownSignals, type RunningStack } from '@settle/stack';
import { availableApps, Supervisor } from './supervisor';

const APP_ORDER = ['relay', 'worker', 'notifier', 'api'];
const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const config = loadConfig({ DEV_AUTH: '1', ...process.env });
  const began = Date.now();
  takeOverShutdownSignals();

  const running: { stack?: RunningStack; supervisor?: Supervisor } = {};
  let shuttingDown = false;
  const shutdown = async (reason: string, code: number): Promise<never> => {
    if (!shuttingDown) {
      shuttingDown = true;
      say(`\nstopping (${reason})…`);
      await running.supervisor?.stopAll();
      await running.stack?.stop();
      say('stopped: no Settle process is left running');
    }
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
  const migrations = await migrate(databaseUrl);
  say(`  migrations: ${migrations.length === 0 ? 'up to date' : `applied ${migrations.join(', ')}`}`);
  if (config.RELAY_MODE === 'wal') say(`  relay slot: ${await setUpRelaySlot(config, databaseUrl)}`);
  const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: `${config.KAFKA_CLIENT_ID}-start` });
  await ensureTopics(kafka, orderTopics(config.ORDER_EVENTS_TOPIC, config.ORDER_EVENTS_PARTITIONS));
  say(`  topics: ${orderTopics(config.ORDER_EVENTS_TOPIC, config.ORDER_EVENTS_PARTITIONS).map((spec) => spec.topic).join(', ')}`);

  const supervisor = new Supervisor((name, code) => void shutdown(`${name} exited with code ${code}`, 1));
  running.supervisor = supervisor;
  const apps = availableApps(APP_ORDER);
  const env = appEnvironment(config, databaseUrl, stack.kafkaBrokers);
  for (const name of apps) supervisor.start({ name, env });

  say('');
  say(`Settle is up in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  say(`  postgres   ${redact(databaseUrl)}`);
  say(`  kafka      ${stack.kafkaBrokers.join(',')}`);
  for (const line of describeApps(apps, config)) say(`  ${line}`);
  say('Press Ctrl-C to stop.');
}

/** The relay's replication slot is created here, once, never by the relay itself (see apps/relay/README.md). */
async function setUpRelaySlot(config: Config, databaseUrl: string): Promise<string> {
  const pool = createPool(databaseUrl, { max: 1, applicationName: 'settle-start' });
  try {
    const outcome = await setupRelaySlot(pool, config.RELAY_SLOT, config.RELAY_PUBLICATION);
    if (outcome === 'missing') {
      return `${config.RELAY_SLOT} is MISSING (it existed before): the relay will refuse to stream until an operator recreates it`;
    }
    return `${config.RELAY_SLOT} (${outcome})`;
  } finally {
    await pool.end();
  }
}

function appEnvironment(config: Config, databaseUrl: string, brokers: string[]): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: brokers.join(','),
    DEV_AUTH: config.DEV_AUTH ? '1' : '0',
    SETTLE_SUPERVISED: '1',
  };
}

function describeApps(apps: string[], config: Config): string[] {
  const where: Record<string, string> = {
    api: `http://localhost:${config.PORT}  (docs /docs, OpenAPI /openapi.json)`,
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
