import os from 'node:os';
import { localStack, parseAppConfig, type OpsConfig } from '@settle/config';
import { createPool, type Pool } from '@settle/db';
import { createKafka } from '@settle/kafka';
import { Partitioners, type Producer } from 'kafkajs';
import { UsageError } from './failure';

/** Where a run reads its environment and writes its output. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** What each command module gets: config, pool and producer opened on first use, output, who runs it, usage errors. */
export interface CommandDeps {
  /** The ops config, parsed on first use; in production it must pass the production profile, as the API's. */
  getConfig: () => OpsConfig;
  /** The database (the local `npm start` stack's without DATABASE_URL). */
  getPool: () => Pool;
  /** An idempotent producer to the configured brokers (the local stack's without KAFKA_BROKERS), connected. */
  connectProducer: () => Promise<Producer>;
  print: (text: string) => void;
  stderr: NodeJS.WritableStream;
  /** `--by`, else SETTLE_OPS_USER, else the OS user: the "who" of audit rows. */
  who: (by: string | undefined) => string;
  /** Stops the command with a one-line usage error (exit 2). */
  usage: (message: string) => never;
}

/** The command dependencies of one run, and `close` for what they opened (newest first). */
export function openCommandDeps(io: CliIo): { deps: CommandDeps; close: () => Promise<void> } {
  const closers: Array<() => Promise<void>> = [];
  let config: OpsConfig | undefined;
  let pool: Pool | undefined;
  const getConfig = (): OpsConfig => (config ??= parseAppConfig('ops', io.env));
  const getPool = (): Pool => {
    if (pool !== undefined) return pool;
    const opened = createPool(localStack(getConfig()).databaseUrl, { max: 2, applicationName: 'settle-ops' });
    closers.push(() => opened.end());
    return (pool = opened);
  };
  const connectProducer = async (): Promise<Producer> => {
    const producer = createKafka({ brokers: localStack(getConfig()).kafkaBrokers, clientId: 'settle-ops' }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    closers.push(() => producer.disconnect());
    return producer;
  };
  const deps: CommandDeps = {
    getConfig,
    getPool,
    connectProducer,
    print: (text) => void io.stdout.write(`${text}\n`),
    stderr: io.stderr,
    who: (by) => by ?? io.env['SETTLE_OPS_USER'] ?? osUser(),
    usage: (message) => {
      throw new UsageError(message);
    },
  };
  const close = async (): Promise<void> => {
    for (const step of closers.reverse()) await step().catch(() => undefined);
  };
  return { deps, close };
}

function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
