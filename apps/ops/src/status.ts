import { localStack } from '@settle/config';
import { findStuckOrders, monitoringFigures, type MonitoringFigures, type Pool } from '@settle/db';
import { createKafka } from '@settle/kafka';
import type { Command } from 'commander';
import type { CommandDeps } from './command-deps';
import { table } from './output';

/** A figure, or why it could not be read (a dependency that is down is part of the status, not an error). */
export type Maybe<T> = T | { unavailable: string };

export interface RelayFigures {
  role: 'active' | 'standby';
  streaming: boolean;
  lastAckAgeSeconds: number | null;
  /** Outbox rows committed and not yet acknowledged by Kafka; null while the relay does not know. */
  outboxWaiting: number | null;
  oldestWaitingAgeSeconds: number | null;
}

export interface ConsumerLag {
  groupId: string;
  topic: string;
  total: number;
  partitions: Array<{ partition: number; committed: string | null; end: string; lag: number }>;
}

export interface StatusReport {
  database: Maybe<MonitoringFigures & { stuckOrders: { total: number; byKind: Record<string, number> } }>;
  relay: Maybe<RelayFigures>;
  consumerGroup: Maybe<ConsumerLag>;
}

export type StatusDeps = Pick<CommandDeps, 'getPool' | 'getConfig' | 'print'>;

/** How long each dependency may take to answer before it is shown as not answering. */
const DEPENDENCY_TIMEOUT_MS = 5_000;

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  const line = message.split('\n')[0] || (typeof code === 'string' ? code : 'failed');
  return line;
}

async function within<T>(what: string, work: () => Promise<T>): Promise<Maybe<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DEPENDENCY_TIMEOUT_MS / 1000} s`)), DEPENDENCY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work(), timeout]);
  } catch (error) {
    return { unavailable: `${what} not reachable: ${firstLine(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

async function databaseFigures(pool: Pool, slot: string): Promise<StatusReport['database'] & object> {
  const figures = await monitoringFigures(pool, slot);
  const stuck = await findStuckOrders(pool);
  const byKind: Record<string, number> = {};
  for (const item of stuck) byKind[item.kind] = (byKind[item.kind] ?? 0) + 1;
  return { ...figures, stuckOrders: { total: stuck.length, byKind } };
}

/** The relay's own view, from its /metrics: only the relay knows its role and what Kafka has acknowledged. */
async function relayFigures(port: number): Promise<RelayFigures> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const text = await response.text();
  const value = (name: string): number | null => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `) || candidate.startsWith(`${name}{`));
    const number = line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
    return Number.isFinite(number) ? number : null;
  };
  return {
    role: value('settle_relay_active') === 1 ? 'active' : 'standby',
    streaming: value('settle_relay_streaming') === 1,
    lastAckAgeSeconds: value('settle_relay_last_ack_age_seconds'),
    outboxWaiting: value('settle_relay_outbox_waiting_events'),
    oldestWaitingAgeSeconds: value('settle_relay_outbox_oldest_waiting_age_seconds'),
  };
}

/** Committed offsets of the notifier's group against the topic's end offsets, per partition. */
async function consumerLag(brokers: string[], groupId: string, topic: string): Promise<ConsumerLag> {
  const admin = createKafka({
    brokers,
    clientId: 'settle-ops-status',
    retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    connectionTimeout: 2_000,
  }).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const committed = (await admin.fetchOffsets({ groupId, topics: [topic] })).find((entry) => entry.topic === topic)?.partitions ?? [];
    const partitions = ends
      .map((end) => {
        const offset = committed.find((entry) => entry.partition === end.partition)?.offset ?? '-1';
        // No committed offset yet: the group starts from the beginning, so everything retained waits.
        const from = offset === '-1' ? BigInt(end.low) : BigInt(offset);
        return {
          partition: end.partition,
          committed: offset === '-1' ? null : offset,
          end: end.high,
          lag: Number(BigInt(end.high) - from),
        };
      })
      .sort((a, b) => a.partition - b.partition);
    return { groupId, topic, total: partitions.reduce((sum, entry) => sum + entry.lag, 0), partitions };
  } finally {
    await admin.disconnect();
  }
}

/** Reads every figure side by side; a dependency that does not answer is reported, never thrown. */
export async function collectStatus(deps: Pick<StatusDeps, 'getPool' | 'getConfig'>): Promise<StatusReport> {
  const config = deps.getConfig();
  const [database, relay, consumerGroup] = await Promise.all([
    within('database', () => databaseFigures(deps.getPool(), config.RELAY_SLOT)),
    within('relay', () => relayFigures(config.RELAY_PORT)),
    within('kafka', () => consumerLag(localStack(config).kafkaBrokers, config.NOTIFIER_GROUP_ID, config.ORDER_EVENTS_TOPIC)),
  ]);
  return { database, relay, consumerGroup };
}

const seconds = (value: number | null): string => (value === null ? '–' : value < 10 ? `${value.toFixed(3)} s` : `${value.toFixed(1)} s`);
const duration = (totalSeconds: number): string => {
  const s = Math.floor(totalSeconds);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d`;
};
const counts = (byKey: Record<string, number>): string => {
  const entries = Object.entries(byKey).filter(([, n]) => n > 0);
  return entries.length === 0 ? '' : ` (${entries.map(([key, n]) => `${key} ${n}`).join(', ')})`;
};

/** The report as a two-column table, one figure a line. */
export function statusTable(report: StatusReport): string {
  const rows: string[][] = [];
  const { database, relay, consumerGroup } = report;
  if ('unavailable' in relay) {
    rows.push(['events waiting to be published', `unknown (${relay.unavailable})`], ['relay', 'relay not reachable']);
  } else {
    const oldest =
      relay.oldestWaitingAgeSeconds === null || relay.outboxWaiting === 0 ? '' : `, oldest ${seconds(relay.oldestWaitingAgeSeconds)}`;
    rows.push([
      'events waiting to be published',
      relay.outboxWaiting === null ? 'unknown (the relay has not acknowledged anything yet)' : `${relay.outboxWaiting}${oldest}`,
    ]);
    rows.push([
      'relay',
      `${relay.role}${relay.streaming ? ', streaming' : ', not streaming'}, last ack ${seconds(relay.lastAckAgeSeconds)} ago`,
    ]);
  }
  if ('unavailable' in database) {
    rows.push(['database', database.unavailable]);
  } else {
    const slot = database.slot;
    rows.push([
      'replication slot',
      slot === null ? 'missing' : `${slot.name}: ${slot.active ? 'active' : 'inactive'}, lag ${slot.lagBytes ?? '–'} bytes`,
    ]);
    rows.push(['dead letters, last hour', `${database.deadLettersLastHour.total}${counts(database.deadLettersLastHour.byChannel)}`]);
    const delivery = database.deliveryLastHour;
    rows.push([
      'delivery (commit → ack), last hour',
      delivery.delivered === 0
        ? 'nothing delivered'
        : `${delivery.delivered} delivered, average ${seconds(delivery.averageSeconds)}, p99 ${seconds(delivery.p99Seconds)}`,
    ]);
    rows.push(['orders completed today (UTC)', String(database.ordersCompletedToday)]);
    const oldest = database.disputes.oldest;
    rows.push([
      'open disputes',
      `${database.disputes.open}, past SLA ${database.disputes.overdue}${oldest === null ? '' : `; oldest ${oldest.orderNumber} (${oldest.orderId}) for ${duration(oldest.ageSeconds)}`}`,
    ]);
    rows.push(['stuck orders', `${database.stuckOrders.total}${counts(database.stuckOrders.byKind)}`]);
  }
  if ('unavailable' in consumerGroup) {
    rows.push(['notifier consumer lag', consumerGroup.unavailable]);
  } else {
    rows.push([
      `notifier consumer lag (${consumerGroup.groupId})`,
      `${consumerGroup.total}: ${consumerGroup.partitions.map((entry) => `p${entry.partition} ${entry.lag}`).join(', ')}`,
    ]);
  }
  return table(['figure', 'value'], rows);
}

/** `settle-ops status [--json]`. */
export function registerStatusCommand(program: Command, deps: StatusDeps): void {
  program
    .command('status')
    .description('the monitoring figures: outbox, dead letters, delivery latency, relay, slot, disputes, stuck orders, consumer lag')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => {
      const report = await collectStatus(deps);
      deps.print(options.json === true ? JSON.stringify(report, null, 2) : statusTable(report));
    });
}
