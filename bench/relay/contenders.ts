/**
 * The relays bench:relay compares, each started as a process of its own (so its CPU time is its own in /proc) on a
 * database of its own (same server, same migrations, so the same outbox table and publication) and topics of its
 * own (`<prefix>.order` for the steady load, `<prefix>.backlog` for backlogs).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { APP_NODE_FLAGS, repoRoot } from '@settle/config';
import { createPool, ensureDatabase, migrate, type Pool, setupRelaySlot } from '@settle/db';
import { freePort, guardChild, waitForExit } from '@settle/stack';
import { DEBEZIUM_DEFAULTS, DEBEZIUM_LOW_LATENCY, dropDebeziumSlot, startDebezium } from './debezium';
import { relaySettingsFromEnv } from './settings';

/** A started contender: its process id (for /proc) and a way to stop it. */
export interface Running {
  pid: number;
  /** Its Prometheus metrics, when it serves ours (bench/relay/split.ts reads them). */
  metricsUrl?: string;
  stop(): Promise<void>;
}

/** Where a contender relays from and to. */
export interface Lane {
  /** Its own database (migrated) and a pool on it. */
  url: string;
  pool: Pool;
  slot: string;
  /** Topic prefix: rows of aggregatetype X go to `<prefix>.X`. */
  prefix: string;
  brokers: string[];
}

export interface Contender {
  key: string;
  name: string;
  /** Creates what it streams from (its slot) before anything is written. */
  prepare(lane: Lane): Promise<void>;
  start(lane: Lane): Promise<Running>;
  /** Drops what `prepare` created. */
  cleanUp(lane: Lane): Promise<void>;
}

/** A database of the contender's own on the bench's server, migrated (outbox table and publication included). */
export async function laneFor(adminUrl: string, key: string, suffix: string, brokers: string[]): Promise<Lane> {
  const url = await ensureDatabase(adminUrl, `relay_${key}_${suffix}`);
  await migrate(url);
  return { url, pool: createPool(url, { max: 8 }), slot: `bench_${key}_${suffix}`, prefix: `bench.${suffix}.${key}`, brokers };
}

/** Our relay (apps/relay/src/main.ts) in its own node process with `settings` on top of the lane's environment. */
function settleRelay(key: string, name: string, settings: Record<string, string>): Contender {
  return {
    key,
    name,
    async prepare(lane) {
      if (settings['RELAY_MODE'] !== 'poll') await setupRelaySlot(lane.pool, lane.slot, 'settle_outbox_pub');
    },
    async start(lane) {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [...(APP_NODE_FLAGS['relay'] ?? []), '--import', 'tsx', path.join(repoRoot, 'apps', 'relay', 'src', 'main.ts')],
        {
          cwd: repoRoot,
          env: {
            PATH: process.env['PATH'] ?? '',
            HOME: process.env['HOME'] ?? '',
            LOG_LEVEL: 'warn',
            DATABASE_URL: lane.url,
            // RELAY_* from the bench's environment try other settings; the lane's and the contender's own still win.
            ...relaySettingsFromEnv(),
            KAFKA_BROKERS: lane.brokers.join(','),
            ORDER_EVENTS_TOPIC: `${lane.prefix}.order`,
            RELAY_TOPIC_ROUTES: `backlog=${lane.prefix}.backlog`,
            RELAY_SLOT: lane.slot,
            RELAY_PORT: String(port),
            HOST: '127.0.0.1',
            ...settings,
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      const pid = child.pid;
      if (pid === undefined) throw new Error(`${name} did not start`);
      guardChild(pid);
      return {
        pid,
        metricsUrl: `http://127.0.0.1:${port}/metrics`,
        async stop() {
          child.kill('SIGTERM');
          if (!(await waitForExit(pid, 15_000))) child.kill('SIGKILL');
        },
      };
    },
    async cleanUp(lane) {
      if (settings['RELAY_MODE'] !== 'poll')
        await lane.pool.query(`SELECT pg_drop_replication_slot($1)`, [lane.slot]).catch(() => undefined);
    },
  };
}

/** Debezium embedded (bench/relay/debezium.ts) with `settings`; every outbox row to `<prefix>.<aggregatetype>`. */
function debezium(key: string, name: string, settings: Record<string, string>): Contender {
  return {
    key,
    name,
    async prepare(lane) {
      // Created now, so rows committed before Debezium's first start are in it (Debezium would create it at its start).
      await lane.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [lane.slot]);
    },
    async start(lane) {
      const running = await startDebezium({
        databaseUrl: lane.url,
        brokers: lane.brokers,
        topic: `${lane.prefix}.\${routedByValue}`,
        slot: lane.slot,
        publication: 'settle_outbox_pub',
        settings,
      });
      return { pid: running.pid, stop: () => running.stop() };
    },
    async cleanUp(lane) {
      await dropDebeziumSlot(lane.pool, lane.slot).catch(() => undefined);
    },
  };
}

/** The contenders in the order one round runs them (alternating ours and Debezium's). */
export function contenders(): Contender[] {
  return [
    settleRelay('settle_latency', 'Settle relay, latency setting (default)', {}),
    debezium('debezium_20ms', 'Debezium, 20 ms poll', DEBEZIUM_LOW_LATENCY),
    settleRelay('settle_throughput', 'Settle relay, throughput setting (RELAY_LINGER_MS=500 RELAY_BATCH_BYTES=900000)', {
      RELAY_LINGER_MS: '500',
      RELAY_BATCH_BYTES: '900000',
    }),
    debezium('debezium_defaults', 'Debezium, defaults', DEBEZIUM_DEFAULTS),
    settleRelay('poll', 'Settle poll relay (RELAY_MODE=poll)', { RELAY_MODE: 'poll', RELAY_POLL_INTERVAL_MS: '100' }),
  ];
}
