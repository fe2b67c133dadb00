import fs from 'node:fs';
import os from 'node:os';
import { signToken } from '@settle/auth';
import { checkProductionProfile, ConfigError, loadConfig, localStack, type Config } from '@settle/config';
import {
  createPool,
  getDeadLetter,
  inspectRelaySlot,
  listDeadLetters,
  recreateRelaySlot,
  resolveDeadLetter,
  type DeadLetterFilter,
  type DeadLetterStatus,
  type Pool,
} from '@settle/db';
import { ROLES, SettleError, type Role } from '@settle/domain';
import { createKafka } from '@settle/kafka';
import { SingleBar } from 'cli-progress';
import { Partitioners } from 'kafkajs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { deadLetterDetails, deadLetterJson, deadLetterRow, LIST_HEADER, table } from './output';
import { replayDeadLetters } from './replay';
import { registerAuditCommand } from './audit';
import { registerRepairCommand } from './repair';
import { registerRepublishCommand } from './republish';
import { registerStatusCommand } from './status';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** A usage or input problem: one line to stderr, exit code 2. */
class UsageError extends Error {}

const STATUSES: DeadLetterStatus[] = ['open', 'replayed', 'parked', 'resolved'];

function positiveInt(what: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError(`${what} must be a positive whole number`);
    return number;
  };
}

function rate(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(value);
  const number = Number(match?.[1]);
  if (match === null || !(number > 0)) throw new InvalidArgumentError('rate is messages per second, e.g. 10 or 10/s');
  return number;
}

/** An ISO time, or a duration back from now: 30m, 2h, 7d. */
export function since(value: string, now = Date.now()): Date {
  const relative = /^(\d+)\s*([smhd])$/.exec(value);
  if (relative !== null) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(relative[1]) * unit);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new InvalidArgumentError('since is an ISO time (2026-11-25T10:00:00Z) or a duration back from now (30m, 2h, 7d)');
  return date;
}

interface FilterOptions {
  since?: Date;
  type?: string;
  error?: string;
  merchant?: string;
}

const addFilters = (command: Command): Command =>
  command
    .option('--since <when>', 'dead since an ISO time or a duration back from now (30m, 2h, 7d)', (value) => since(value))
    .option('--type <eventType>', 'event type, e.g. order.completed')
    .option('--error <text>', 'substring of the exception class or message')
    .option('--merchant <id>', 'events naming this merchant');

const filterOf = (options: FilterOptions): DeadLetterFilter => ({
  since: options.since,
  type: options.type,
  error: options.error,
  merchant: options.merchant,
});

/** Runs `settle-ops` with `argv` (without node and script); returns the exit code. Errors are one line on stderr. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const resources: { pool?: Pool; close: Array<() => Promise<void>> } = { close: [] };
  let config: Config | undefined;
  // The production profile is checked as in the API and the notifier: a command run there with dev auth or a weak key stops.
  const getConfig = (): Config => (config ??= checkProductionProfile(loadConfig(io.env)));
  const getPool = (): Pool => {
    if (resources.pool !== undefined) return resources.pool;
    // Without DATABASE_URL, the local `npm start` stack.
    const pool = createPool(localStack(getConfig()).databaseUrl, { max: 2, applicationName: 'settle-ops' });
    resources.pool = pool;
    resources.close.push(() => pool.end());
    return pool;
  };
  const who = (by: string | undefined): string => by ?? io.env['SETTLE_OPS_USER'] ?? safeUser();
  const print = (text: string): void => {
    io.stdout.write(`${text}\n`);
  };

  const program = new Command('settle-ops')
    .description('Settle operations: dead letters, the relay slot, dev tokens')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text), outputError: () => undefined })
    .showSuggestionAfterError(false);

  const dlq = program.command('dlq').description('the order events dead-letter topic (mirrored in the dead_letters table)');

  addFilters(dlq.command('list').description('list dead letters, oldest first'))
    .addOption(new Option('--status <status>', 'only this status').choices(STATUSES))
    .option('--limit <n>', 'at most this many', positiveInt('limit'), 50)
    .option('--json', 'JSON output')
    .action(async (options: FilterOptions & { status?: DeadLetterStatus; limit: number; json?: boolean }) => {
      const letters = await listDeadLetters(getPool(), {
        ...filterOf(options),
        statuses: options.status === undefined ? undefined : [options.status],
        limit: options.limit,
      });
      if (options.json === true)
        print(
          JSON.stringify(
            letters.map((letter) => deadLetterJson(letter)),
            null,
            2,
          ),
        );
      else print(letters.length === 0 ? 'no dead letters match' : table(LIST_HEADER, letters.map(deadLetterRow)));
    });

  dlq
    .command('show')
    .description('one dead letter: headers, value, stack trace and audit trail')
    .argument('<id>', 'dead letter id', positiveInt('id'))
    .option('--json', 'JSON output')
    .action(async (id: number, options: { json?: boolean }) => {
      const letter = await getDeadLetter(getPool(), id);
      print(options.json === true ? JSON.stringify(deadLetterJson(letter), null, 2) : deadLetterDetails(letter));
    });

  addFilters(
    dlq
      .command('replay')
      .description('re-publish open dead letters to their original topic (resumable; parks messages replayed too often)'),
  )
    .argument('[ids...]', 'only these dead letter ids')
    .option('--dry-run', 'show what would be replayed; change nothing')
    .option('--limit <n>', 'replay at most this many in this run', positiveInt('limit'), 1000)
    .option('--rate <n/s>', 'at most this many messages per second', rate)
    .option('--reason <text>', 'why (written to the audit table; required unless --dry-run)')
    .option('--by <who>', 'who replays (default: the OS user)')
    .option('--restart', 'ignore an unfinished cursor of the same filter and start from the first match')
    .option('--json', 'JSON summary')
    .action(
      async (
        rawIds: string[],
        options: FilterOptions & {
          dryRun?: boolean;
          limit: number;
          rate?: number;
          reason?: string;
          by?: string;
          restart?: boolean;
          json?: boolean;
        },
      ) => {
        const ids = rawIds.length === 0 ? undefined : rawIds.map((value) => positiveInt('id')(value));
        const dryRun = options.dryRun === true;
        if (!dryRun && (options.reason === undefined || options.reason.trim() === ''))
          throw new UsageError('--reason is required: say why these messages are replayed (it is audited)');
        const cfg = getConfig();
        const pool = getPool();
        let producer;
        if (!dryRun) {
          const kafka = createKafka({ brokers: localStack(cfg).kafkaBrokers, clientId: 'settle-ops' });
          producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
          await producer.connect();
          const connected = producer;
          resources.close.push(() => connected.disconnect());
        }
        const bar =
          options.json === true
            ? undefined
            : new SingleBar({
                stream: io.stderr,
                format: 'replay [{bar}] {value}/{total} {action} #{id}',
                hideCursor: true,
                noTTYOutput: false,
              });
        const summary = await replayDeadLetters({
          pool,
          producer,
          filter: filterOf(options),
          ids,
          limit: options.limit,
          rate: options.rate,
          maxReplays: cfg.DLQ_MAX_REPLAYS,
          actor: who(options.by),
          reason: options.reason ?? 'dry run',
          dryRun,
          restart: options.restart === true,
          onStart: (total) => bar?.start(total, 0, { action: '', id: '' }),
          onProgress: (done, letter, action) => bar?.update(done, { action, id: letter.id }),
        });
        bar?.stop();
        if (options.json === true) {
          print(JSON.stringify(summary, null, 2));
          return;
        }
        const verb = dryRun ? 'would replay' : 'replayed';
        print(
          `${dryRun ? 'dry run: ' : ''}${verb} ${summary.replayed.length}${summary.replayed.length > 0 ? ` (${summary.replayed.join(', ')})` : ''}, ${dryRun ? 'would park' : 'parked'} ${summary.parked.length}${summary.parked.length > 0 ? ` (${summary.parked.join(', ')})` : ''}, skipped ${summary.skipped.length}`,
        );
        if (!summary.finished) print(`more match: run the same command again to continue after #${summary.cursor}`);
      },
    );

  dlq
    .command('resolve')
    .description('close a dead letter by hand (audited)')
    .argument('<id>', 'dead letter id', positiveInt('id'))
    .requiredOption('--note <text>', 'why it is resolved')
    .option('--by <who>', 'who resolves (default: the OS user)')
    .option('--json', 'JSON output')
    .action(async (id: number, options: { note: string; by?: string; json?: boolean }) => {
      if (options.note.trim() === '') throw new UsageError('--note must say why');
      const letter = await resolveDeadLetter(getPool(), id, who(options.by), options.note);
      print(
        options.json === true
          ? JSON.stringify(deadLetterJson(letter), null, 2)
          : `resolved dead letter ${id} by ${letter.resolvedBy ?? ''}`,
      );
    });

  program
    .command('token')
    .description('print a dev JWT (HS256 with JWT_SECRET) for local use')
    .addOption(new Option('--role <role>', 'user, merchant or compliance').choices(ROLES as unknown as string[]).makeOptionMandatory())
    .requiredOption('--id <id>', 'the subject (user or merchant id)')
    .option('--ttl <seconds>', 'lifetime in seconds', positiveInt('ttl'), 12 * 3600)
    .action(async (options: { role: Role; id: string; ttl: number }) => {
      const cfg = getConfig();
      const secret = cfg.JWT_SECRET ?? readSecret(localStack(cfg).jwtSecretFile);
      if (secret === undefined) {
        throw new UsageError(
          `JWT_SECRET is not set and ${localStack(cfg).jwtSecretFile} does not exist: set JWT_SECRET to the API's secret (npm start writes that file)`,
        );
      }
      print(await signToken({ ...cfg, JWT_SECRET: secret }, { role: options.role, id: options.id }, options.ttl));
    });

  const relay = program.command('relay').description("the relay's replication slot");
  relay
    .command('status')
    .description('is the slot there, active, and how far has it confirmed')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => {
      const state = await inspectRelaySlot(getPool(), getConfig().RELAY_SLOT);
      if (options.json === true) print(JSON.stringify({ slot: getConfig().RELAY_SLOT, ...state }, null, 2));
      else if (state.status === 'ok')
        print(
          `slot ${getConfig().RELAY_SLOT}: ok, ${state.active ? 'streaming' : 'not streaming'}, confirmed up to ${state.confirmedFlushLsn ?? 'nothing yet'}`,
        );
      else print(`slot ${getConfig().RELAY_SLOT}: ${state.status}: ${state.reason}`);
    });
  relay
    .command('recreate-slot')
    .description(
      'create a lost slot again from the current WAL position (events committed while it was missing are NOT streamed: re-publish them first)',
    )
    .requiredOption('--reason <text>', 'why (printed; say which outbox rows were re-published)')
    .option('--yes', 'confirm: you understand events since the old slot position will not be relayed from the WAL')
    .action(async (options: { reason: string; yes?: boolean }) => {
      if (options.yes !== true)
        throw new UsageError(
          'recreating the slot skips every event committed while it was missing: re-publish them, then run again with --yes',
        );
      if (options.reason.trim() === '') throw new UsageError('--reason must say why');
      const cfg = getConfig();
      const created = await recreateRelaySlot(getPool(), cfg.RELAY_SLOT, cfg.RELAY_PUBLICATION);
      print(
        created
          ? `recreated slot ${cfg.RELAY_SLOT} (${options.reason} — by ${who(undefined)})`
          : `slot ${cfg.RELAY_SLOT} exists: nothing to do`,
      );
    });

  // What every command module gets: the lazily opened pool and config, output, who runs it, usage errors.
  const commandDeps = {
    getPool,
    getConfig,
    print,
    stderr: io.stderr,
    who,
    usage: (message: string): never => {
      throw new UsageError(message);
    },
  };
  registerRepairCommand(program, commandDeps);
  registerStatusCommand(program, commandDeps);
  registerAuditCommand(program, { ...commandDeps, since: (value) => since(value) });
  registerRepublishCommand(program, {
    ...commandDeps,
    since: (value) => since(value),
    rate,
    onClose: (close) => resources.close.push(close),
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      io.stderr.write(`settle-ops: ${error.message.replace(/^error: /, '')}\n`);
      return 2;
    }
    io.stderr.write(`settle-ops: ${oneLine(error)}\n`);
    return error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
  } finally {
    for (const close of resources.close.reverse()) await close().catch(() => undefined);
  }
}

function oneLine(error: unknown): string {
  if (error instanceof SettleError || error instanceof UsageError || error instanceof ConfigError) return error.message;
  const message = error instanceof Error ? `${error.message}` : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'ECONNREFUSED') return `cannot reach the database or broker (${message})`;
  return message.split('\n')[0] ?? message;
}

function readSecret(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
