import type { Pool } from '@settle/db';
import type { Logger } from '@settle/observability';
import { databaseError } from './errors';
import type { RelayMetrics } from './metrics';
import { HEARTBEAT_PREFIX } from './wal-stream';

export interface Housekeeping {
  stop(): Promise<void>;
}

/**
 * While this relay is active: writes a heartbeat into the WAL every `heartbeatMs` (a non-transactional logical
 * message, which the stream acknowledges like an empty transaction, so an idle outbox still advances the slot's
 * confirmed_flush_lsn and Postgres can recycle WAL), and refreshes the slot lag gauge. A failed tick is counted
 * and logged and the next tick tries again; neither job can lose events.
 */
export function startWalHousekeeping(options: {
  pool: Pool;
  slot: string;
  heartbeatMs: number;
  lagIntervalMs: number;
  metrics: RelayMetrics;
  logger: Logger;
}): Housekeeping {
  const { pool, slot, metrics, logger } = options;
  const heartbeat = every(options.heartbeatMs, async () => {
    try {
      // Its content is the time it was written: once acknowledged, every commit before it is (backlog.ts).
      await pool.query(`SELECT pg_logical_emit_message(false, $1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text)`, [
        HEARTBEAT_PREFIX,
      ]);
      metrics.heartbeats.inc({ outcome: 'written' });
    } catch (error) {
      metrics.heartbeats.inc({ outcome: 'failed' });
      logger.warn({ err: databaseError(error, 'DATABASE_UNAVAILABLE', 'writing a heartbeat') }, 'heartbeat failed; retrying next tick');
    }
  });
  const lag = every(options.lagIntervalMs, async () => {
    try {
      const { rows } = await pool.query<{ lag: string | null }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      );
      const value = rows[0]?.lag;
      if (value !== undefined && value !== null) metrics.slotLag.set(Number(value));
    } catch (error) {
      logger.warn(
        { err: databaseError(error, 'DATABASE_UNAVAILABLE', 'reading the slot lag') },
        'slot lag query failed; retrying next tick',
      );
    }
  });
  return {
    async stop() {
      await Promise.all([heartbeat.stop(), lag.stop()]);
    },
  };
}

/** Runs `tick` every `ms` without overlapping runs; `stop` waits for a running tick. */
export function every(ms: number, tick: () => Promise<void>): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    timer = setTimeout(() => {
      running = tick().finally(() => {
        if (!stopped) schedule();
      });
    }, ms);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
