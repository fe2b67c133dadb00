import { orderPolicy, type OrderRulesConfig } from '@settle/config';
import { applyTransition, findStuckOrders, type Pool } from '@settle/db';
import { isSettleError, SYSTEM_ACTOR } from '@settle/domain';
import { idOnlyTracing } from '@settle/observability';
import type { Command } from 'commander';
import { UUID } from './arguments';
import type { CommandDeps } from './command-deps';
import { printList, progressBar } from './output';

export interface RepairRow {
  orderId: string;
  orderNumber: string;
  kind: string;
  status: string;
  action: string;
  detail: string;
  /** would-repair (dry run) | repaired | changed-meanwhile (409: someone else moved it) | failed: <why> */
  result: string;
}

/**
 * Finds stuck orders (domain `diagnose`) and, with `apply`, repairs each through the one write path as the system:
 * the order change, its event and outbox row, and an order_audit row with who asked and why. Never a blind UPDATE.
 */
export async function repairStuckOrders(
  pool: Pool,
  options: {
    apply: boolean;
    orderId?: string | undefined;
    by: string;
    reason: string;
    config: OrderRulesConfig;
    onStart?: (total: number) => void;
    onProgress?: (done: number, row: RepairRow) => void;
  },
): Promise<RepairRow[]> {
  const found = await findStuckOrders(pool, { orderId: options.orderId });
  options.onStart?.(found.length);
  const policy = orderPolicy(options.config);
  const rows: RepairRow[] = [];
  for (const item of found) {
    const row: RepairRow = {
      orderId: item.order.id,
      orderNumber: item.order.orderNumber,
      kind: item.kind,
      status: item.order.status,
      action: item.command.action,
      detail: item.detail,
      result: 'would-repair',
    };
    if (options.apply) {
      try {
        // Each repair starts a trace of its own: its id is in the event's ce_traceparent, like a request's.
        const { traceparent } = idOnlyTracing.startSpan('repair');
        await applyTransition(pool, {
          orderId: item.order.id,
          command: item.command,
          actor: SYSTEM_ACTOR,
          policy,
          audit: { by: options.by, reason: options.reason },
          traceparent,
        });
        row.result = 'repaired';
      } catch (error) {
        row.result =
          isSettleError(error) && error.code === 'CONFLICT'
            ? 'changed-meanwhile'
            : `failed: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    rows.push(row);
    options.onProgress?.(rows.length, row);
  }
  return rows;
}

/** `settle-ops repair [--dry-run | --apply] [--order <id>] [--reason <text>] [--by <who>] [--json]`. */
export function registerRepairCommand(program: Command, deps: CommandDeps): void {
  program
    .command('repair')
    .description('find orders whose state and evidence disagree and repair them through the write path (audited); a dry run unless --apply')
    .option('--dry-run', 'list what would be repaired; change nothing (the default)')
    .option('--apply', 'repair them')
    .option('--order <id>', 'only this order')
    .option('--reason <text>', 'why (written to the audit rows; required with --apply)')
    .option('--by <who>', 'who repairs (default: the OS user)')
    .option('--json', 'JSON output')
    .action(async (options: { dryRun?: boolean; apply?: boolean; order?: string; reason?: string; by?: string; json?: boolean }) => {
      if (options.apply === true && options.dryRun === true) deps.usage('choose --dry-run or --apply, not both');
      if (options.order !== undefined && !UUID.test(options.order))
        deps.usage(`--order must be an order id (a UUID), got "${options.order}"`);
      const apply = options.apply === true;
      if (apply && (options.reason === undefined || options.reason.trim() === ''))
        deps.usage('--reason is required with --apply: say why these orders are repaired (it is audited)');
      const bar = progressBar(deps.stderr, 'repair [{bar}] {value}/{total} {result} {order}', options.json === true);
      const rows = await repairStuckOrders(deps.getPool(), {
        apply,
        orderId: options.order,
        by: deps.who(options.by),
        reason: options.reason ?? 'dry run',
        config: deps.getConfig(),
        onStart: (total) => bar?.start(total, 0, { result: '', order: '' }),
        onProgress: (done, row) => bar?.update(done, { result: row.result, order: row.orderNumber }),
      });
      bar?.stop();
      const listed = printList(deps.print, rows, options.json, {
        json: { applied: apply, orders: rows },
        empty: 'no stuck orders',
        header: ['order', 'number', 'kind', 'status', 'action', 'result', 'detail'],
        row: (row) => [row.orderId, row.orderNumber, row.kind, row.status, row.action, row.result, row.detail],
      });
      if (!listed) return;
      const count = (result: string): number => rows.filter((row) => row.result === result).length;
      deps.print(
        apply
          ? `repaired ${count('repaired')} of ${rows.length}; changed meanwhile ${count('changed-meanwhile')}; failed ${rows.length - count('repaired') - count('changed-meanwhile')}`
          : `dry run: ${rows.length} would be repaired; run again with --apply --reason "…"`,
      );
    });
}
