import { randomUUID } from 'node:crypto';
import {
  advanceRepublishRun,
  countRepublishEvents,
  findUnfinishedRepublishRun,
  finishRepublishRun,
  nextRepublishEvents,
  republishFilterKey,
  startRepublishRun,
  type Pool,
  type RepublishEvent,
  type RepublishFilter,
} from '@settle/db';
import { EVENT_HEADERS, eventHeaders } from '@settle/kafka';
import type { Command } from 'commander';
import type { Message, Producer } from 'kafkajs';
import { rate, since, UUID } from './arguments';
import type { CommandDeps } from './command-deps';
import { progressBar } from './output';

export interface RepublishSummary {
  runId: string | null;
  topic: string;
  total: number;
  sent: number;
  resumed: boolean;
  dryRun: boolean;
}

const BATCH = 500;

/** The message of a stored event: what the relay sent (same key, value and event id), marked re-published by `runId`. */
export function republishedMessage(event: RepublishEvent, runId: string): Message & { key: string; value: string } {
  const payload = JSON.parse(event.payload) as { orderNumber?: string };
  const extra: Record<string, string> = { actorRole: event.actorRole, [EVENT_HEADERS.republished]: runId };
  if (payload.orderNumber !== undefined) extra['orderNumber'] = payload.orderNumber;
  return {
    key: event.orderId,
    value: event.payload,
    headers: eventHeaders({
      id: event.id,
      aggregatetype: 'order',
      aggregateid: event.orderId,
      type: event.type,
      createdAt: event.occurredAt,
      orderVersion: event.orderVersion,
      commitLsn: null,
      extra,
    }),
  };
}

/**
 * Re-sends the events `filter` selects from order_events (kept for good) to `topic`, in each order's version order,
 * at most `rate` a second. The run is an audit row with a cursor: an unfinished run of the same filter is resumed
 * after the last event Kafka acknowledged, unless `restart`.
 */
export async function republishEvents(
  pool: Pool,
  producer: Producer | undefined,
  options: {
    filter: RepublishFilter;
    topic: string;
    by: string;
    reason: string;
    rate?: number | undefined;
    restart?: boolean;
    onStart?: (total: number, done: number) => void;
    onProgress?: (done: number) => void;
  },
): Promise<RepublishSummary> {
  const total = await countRepublishEvents(pool, options.filter);
  if (producer === undefined) {
    options.onStart?.(total, 0);
    return { runId: null, topic: options.topic, total, sent: 0, resumed: false, dryRun: true };
  }
  const filterKey = republishFilterKey(options.filter, options.topic);
  const unfinished = options.restart === true ? undefined : await findUnfinishedRepublishRun(pool, filterKey);
  const run =
    unfinished ??
    (await startRepublishRun(pool, {
      id: randomUUID(),
      filterKey,
      filter: options.filter,
      topic: options.topic,
      by: options.by,
      reason: options.reason,
      total,
    }));
  let sent = run.sent;
  let cursor = run.cursor;
  options.onStart?.(run.total, sent);
  const batchSize = options.rate === undefined ? BATCH : Math.max(1, Math.min(BATCH, Math.floor(options.rate)));
  for (;;) {
    const startedAt = Date.now();
    const events = await nextRepublishEvents(pool, options.filter, cursor, batchSize);
    const last = events.at(-1);
    if (last === undefined) break;
    await producer.send({ topic: options.topic, acks: -1, messages: events.map((event) => republishedMessage(event, run.id)) });
    await advanceRepublishRun(pool, run.id, last, events.length);
    sent += events.length;
    cursor = { occurredAt: last.occurredAt, orderId: last.orderId, orderVersion: last.orderVersion };
    options.onProgress?.(sent);
    if (options.rate !== undefined) {
      const wait = (events.length / options.rate) * 1000 - (Date.now() - startedAt);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  await finishRepublishRun(pool, run.id);
  return { runId: run.id, topic: options.topic, total: run.total, sent, resumed: unfinished !== undefined, dryRun: false };
}

/** `settle-ops outbox republish --since <time> [--until] [--order <id>] [--type] [--dry-run] [--rate N/s] --reason …`. */
export function registerRepublishCommand(program: Command, deps: CommandDeps): void {
  program
    .command('outbox')
    .description('the events the relay published')
    .command('republish')
    .description(
      're-send events from order_events to the order events topic, marked re-published (same keys and event ids: consumers with an inbox drop what they have; the notifier ignores them)',
    )
    .requiredOption(
      '--since <when>',
      'events that occurred at or after an ISO time or a duration back from now (30m, 2h, 7d); an unfinished run is resumed when run again with the same filter, so give an ISO time to resume',
      (value) => since(value),
    )
    .option('--until <when>', 'and before this time', (value) => since(value))
    .option('--order <id>', 'only this order')
    .option('--type <eventType>', 'only this event type, e.g. order.completed')
    .option('--dry-run', 'count what would be re-sent; send nothing')
    .option('--rate <n/s>', 'at most this many messages per second', rate)
    .option('--reason <text>', 'why (written to the audit row; required unless --dry-run)')
    .option('--by <who>', 'who re-publishes (default: the OS user)')
    .option('--restart', 'ignore an unfinished run of the same filter and start from the first event')
    .option('--json', 'JSON summary')
    .action(
      async (options: {
        since: Date;
        until?: Date;
        order?: string;
        type?: string;
        dryRun?: boolean;
        rate?: number;
        reason?: string;
        by?: string;
        restart?: boolean;
        json?: boolean;
      }) => {
        if (options.order !== undefined && !UUID.test(options.order))
          deps.usage(`--order must be an order id (a UUID), got "${options.order}"`);
        if (options.until !== undefined && options.until <= options.since) deps.usage('--until must be after --since');
        const dryRun = options.dryRun === true;
        if (!dryRun && (options.reason === undefined || options.reason.trim() === ''))
          deps.usage('--reason is required: say why these events are re-published (it is audited)');
        const config = deps.getConfig();
        const producer = dryRun ? undefined : await deps.connectProducer();
        const bar = progressBar(deps.stderr, 'republish [{bar}] {value}/{total}', options.json === true || dryRun);
        const summary = await republishEvents(deps.getPool(), producer, {
          filter: { since: options.since, until: options.until, orderId: options.order, type: options.type },
          topic: config.ORDER_EVENTS_TOPIC,
          by: deps.who(options.by),
          reason: options.reason ?? 'dry run',
          rate: options.rate,
          restart: options.restart === true,
          onStart: (total, done) => bar?.start(total, done),
          onProgress: (done) => bar?.update(done),
        });
        bar?.stop();
        if (options.json === true) deps.print(JSON.stringify(summary, null, 2));
        else if (summary.dryRun)
          deps.print(
            `dry run: ${summary.total} events would be re-sent to ${summary.topic}; run again without --dry-run and with --reason "…"`,
          );
        else
          deps.print(
            `re-sent ${summary.sent} of ${summary.total} events to ${summary.topic}${summary.resumed ? ' (resumed an unfinished run)' : ''}; run ${summary.runId}`,
          );
      },
    );
}
