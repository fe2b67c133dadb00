import type { Pool } from '@settle/db';
import type { Logger } from '@settle/observability';
import { databaseError } from './errors';
import { every } from './heartbeat';
import type { RelayMetrics } from './metrics';

/** Counting stops here: far above any alert threshold, and it bounds the index range scanned per tick. */
const COUNT_CAP = 100_000;

// WAL mode. The slot does not say which rows it has passed, but the watermark's time does: every outbox row
// committed up to `$1` (a commit or heartbeat time the watermark passed) is acknowledged by Kafka, and a row whose
// created_at is later committed later. A row created before that time whose transaction committed after it is
// not counted until the next acknowledgement moves the time past it (milliseconds with short transactions).
const WAL_BACKLOG_SQL = `
SELECT count(*)::int AS waiting, COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
  FROM (SELECT created_at FROM outbox
         WHERE created_at > timestamptz 'epoch' + $1::bigint * interval '1 microsecond'
         ORDER BY created_at LIMIT ${COUNT_CAP}) AS waiting`;

// Poll mode marks what it published, so the partial index of unpublished rows is exact.
const POLL_BACKLOG_SQL = `
SELECT count(*)::int AS waiting, COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
  FROM (SELECT created_at FROM outbox WHERE published_at IS NULL ORDER BY created_at, id LIMIT ${COUNT_CAP}) AS waiting`;

export interface BacklogGauge {
  /** Stops refreshing and marks the figures unknown (a standby does not know them). */
  stop(): Promise<void>;
}

/**
 * While this relay is active, refreshes `settle_relay_outbox_waiting_events` and
 * `settle_relay_outbox_oldest_waiting_age_seconds` every `intervalMs`. In WAL mode both are NaN until the stream
 * has acknowledged a transaction or a heartbeat in this process (a few seconds on a healthy relay): before that
 * the relay does not know where the slot's position is in time. `settle_relay_slot_lag_bytes` covers that case.
 */
export function startBacklogGauge(options: {
  pool: Pool;
  mode: 'wal' | 'poll';
  intervalMs: number;
  metrics: RelayMetrics;
  logger: Logger;
}): BacklogGauge {
  const { pool, metrics, logger } = options;
  const unknown = (): void => {
    metrics.outboxWaiting.set(Number.NaN);
    metrics.outboxOldestAge.set(Number.NaN);
  };
  const refresh = async (): Promise<void> => {
    const through = metrics.acknowledgedThroughUs;
    if (options.mode === 'wal' && through === null) {
      unknown();
      return;
    }
    try {
      const { rows } =
        options.mode === 'wal'
          ? await pool.query<{ waiting: number; age: number }>(WAL_BACKLOG_SQL, [String(through)])
          : await pool.query<{ waiting: number; age: number }>(POLL_BACKLOG_SQL);
      metrics.outboxWaiting.set(rows[0]?.waiting ?? 0);
      metrics.outboxOldestAge.set(Math.max(0, rows[0]?.age ?? 0));
    } catch (error) {
      logger.warn(
        { err: databaseError(error, 'DATABASE_UNAVAILABLE', 'counting waiting outbox rows') },
        'outbox backlog query failed; retrying next tick',
      );
    }
  };
  const ticks = every(options.intervalMs, refresh);
  return {
    async stop() {
      await ticks.stop();
      unknown();
    },
  };
}
