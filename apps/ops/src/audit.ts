import { auditTrail, type AuditEntry } from '@settle/db';
import { type Command, InvalidArgumentError } from 'commander';
import { positiveInt, since, UUID } from './arguments';
import type { CommandDeps } from './command-deps';
import { printList } from './output';

function orderId(value: string): string {
  if (!UUID.test(value)) throw new InvalidArgumentError(`an order id is a UUID, got "${value}"`);
  return value;
}

function subject(entry: AuditEntry): string {
  const order = entry.orderNumber ?? entry.orderId ?? '';
  if (entry.source === 'dead_letter') return `dead letter #${entry.deadLetterId ?? '?'}${order === '' ? '' : ` (${order})`}`;
  return entry.orderVersion === null ? order : `${order} v${entry.orderVersion}`;
}

/** `settle-ops audit [--order <id>] [--since <when>] [--limit n] [--json]`: who did what, newest last. */
export function registerAuditCommand(program: Command, deps: Pick<CommandDeps, 'getPool' | 'print'>): void {
  program
    .command('audit')
    .description('who did what: order transitions, force actions and repairs, dead-letter replays, parks and resolves; newest last')
    .option('--order <id>', 'only this order', orderId)
    .option('--since <when>', 'since an ISO time or a duration back from now (30m, 2h, 7d)', (value) => since(value))
    .option('--limit <n>', 'the newest this many entries', positiveInt('limit'), 200)
    .option('--json', 'JSON output')
    .action(async (options: { order?: string; since?: Date; limit: number; json?: boolean }) => {
      const entries = await auditTrail(deps.getPool(), { orderId: options.order, since: options.since, limit: options.limit });
      printList(deps.print, entries, options.json, {
        json: entries,
        empty: 'no audit entries match',
        header: ['at', 'source', 'action', 'actor', 'subject', 'reason'],
        row: (entry) => [entry.at, entry.source, entry.action, `${entry.actorRole}:${entry.actorId}`, subject(entry), entry.reason ?? ''],
      });
    });
}
