import { getDeadLetter, listDeadLetters, resolveDeadLetter, type DeadLetterFilter, type DeadLetterStatus } from '@settle/db';
import { Option, type Command } from 'commander';
import { positiveInt, rate, since } from './arguments';
import type { CommandDeps } from './command-deps';
import { deadLetterDetails, deadLetterJson, deadLetterRow, LIST_HEADER, printList, progressBar } from './output';
import { replayDeadLetters } from './replay';

const STATUSES: DeadLetterStatus[] = ['open', 'replayed', 'parked', 'resolved'];

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

/** A subcommand about one dead letter, named by its id. */
const letterCommand = (dlq: Command, name: string, description: string): Command =>
  dlq.command(name).description(description).argument('<id>', 'dead letter id', positiveInt('id'));

const filterOf = (options: FilterOptions): DeadLetterFilter => ({
  since: options.since,
  type: options.type,
  error: options.error,
  merchant: options.merchant,
});

/** `settle-ops dlq list | show | replay | resolve`: the order events dead-letter topic, as the dead_letters table mirrors it. */
export function registerDlqCommands(program: Command, deps: CommandDeps): void {
  const dlq = program.command('dlq').description('the order events dead-letter topic (mirrored in the dead_letters table)');
  registerList(dlq, deps);
  registerShow(dlq, deps);
  registerReplay(dlq, deps);
  registerResolve(dlq, deps);
}

function registerList(dlq: Command, deps: CommandDeps): void {
  addFilters(dlq.command('list').description('list dead letters, oldest first'))
    .addOption(new Option('--status <status>', 'only this status').choices(STATUSES))
    .option('--limit <n>', 'at most this many', positiveInt('limit'), 50)
    .option('--json', 'JSON output')
    .action(async (options: FilterOptions & { status?: DeadLetterStatus; limit: number; json?: boolean }) => {
      const letters = await listDeadLetters(deps.getPool(), {
        ...filterOf(options),
        statuses: options.status === undefined ? undefined : [options.status],
        limit: options.limit,
      });
      printList(deps.print, letters, options.json, {
        json: letters.map((letter) => deadLetterJson(letter)),
        empty: 'no dead letters match',
        header: LIST_HEADER,
        row: deadLetterRow,
      });
    });
}

function registerShow(dlq: Command, deps: CommandDeps): void {
  letterCommand(dlq, 'show', 'one dead letter: headers, value, stack trace and audit trail')
    .option('--json', 'JSON output')
    .action(async (id: number, options: { json?: boolean }) => {
      const letter = await getDeadLetter(deps.getPool(), id);
      deps.print(options.json === true ? JSON.stringify(deadLetterJson(letter), null, 2) : deadLetterDetails(letter));
    });
}

interface ReplayCommandOptions extends FilterOptions {
  dryRun?: boolean;
  limit: number;
  rate?: number;
  reason?: string;
  by?: string;
  restart?: boolean;
  json?: boolean;
}

function registerReplay(dlq: Command, deps: CommandDeps): void {
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
    .action(async (rawIds: string[], options: ReplayCommandOptions) => {
      const ids = rawIds.length === 0 ? undefined : rawIds.map((value) => positiveInt('id')(value));
      const dryRun = options.dryRun === true;
      if (!dryRun && (options.reason === undefined || options.reason.trim() === ''))
        deps.usage('--reason is required: say why these messages are replayed (it is audited)');
      const config = deps.getConfig();
      const pool = deps.getPool();
      const producer = dryRun ? undefined : await deps.connectProducer();
      const bar = progressBar(deps.stderr, 'replay [{bar}] {value}/{total} {action} #{id}', options.json === true);
      const summary = await replayDeadLetters({
        pool,
        producer,
        filter: filterOf(options),
        ids,
        limit: options.limit,
        rate: options.rate,
        maxReplays: config.DLQ_MAX_REPLAYS,
        actor: deps.who(options.by),
        reason: options.reason ?? 'dry run',
        dryRun,
        restart: options.restart === true,
        onStart: (total) => bar?.start(total, 0, { action: '', id: '' }),
        onProgress: (done, letter, action) => bar?.update(done, { action, id: letter.id }),
      });
      bar?.stop();
      if (options.json === true) {
        deps.print(JSON.stringify(summary, null, 2));
        return;
      }
      const verb = dryRun ? 'would replay' : 'replayed';
      deps.print(
        `${dryRun ? 'dry run: ' : ''}${verb} ${summary.replayed.length}${summary.replayed.length > 0 ? ` (${summary.replayed.join(', ')})` : ''}, ${dryRun ? 'would park' : 'parked'} ${summary.parked.length}${summary.parked.length > 0 ? ` (${summary.parked.join(', ')})` : ''}, skipped ${summary.skipped.length}`,
      );
      if (!summary.finished) deps.print(`more match: run the same command again to continue after #${summary.cursor}`);
    });
}

function registerResolve(dlq: Command, deps: CommandDeps): void {
  letterCommand(dlq, 'resolve', 'close a dead letter by hand (audited)')
    .requiredOption('--note <text>', 'why it is resolved')
    .option('--by <who>', 'who resolves (default: the OS user)')
    .option('--json', 'JSON output')
    .action(async (id: number, options: { note: string; by?: string; json?: boolean }) => {
      if (options.note.trim() === '') deps.usage('--note must say why');
      const letter = await resolveDeadLetter(deps.getPool(), id, deps.who(options.by), options.note);
      deps.print(
        options.json === true
          ? JSON.stringify(deadLetterJson(letter), null, 2)
          : `resolved dead letter ${id} by ${letter.resolvedBy ?? ''}`,
      );
    });
}
