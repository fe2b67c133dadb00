import type pg from 'pg';

/**
 * The inbox tables, for the caller's own migrations (or run by `migrateInbox`). `settle_inbox` has one row per
 * (consumer, order, version) the consumer has seen: `done` (handled, in the same transaction as the handler's
 * writes), `held` (waiting behind a dead letter of its order), `dead` (dead-lettered) or `skipped` (a dead letter
 * resolved without handling it). `settle_inbox_blocked` names the orders whose events are held.
 */
export const INBOX_DDL = `
CREATE TABLE IF NOT EXISTS settle_inbox (
  consumer text NOT NULL,
  order_id uuid NOT NULL,
  order_version integer NOT NULL,
  event_id uuid NOT NULL,
  type text NOT NULL,
  state text NOT NULL CHECK (state IN ('done', 'held', 'dead', 'skipped')),
  payload jsonb,
  headers jsonb,
  error text,
  received_at timestamptz NOT NULL DEFAULT now(),
  handled_at timestamptz,
  PRIMARY KEY (consumer, order_id, order_version)
);
CREATE INDEX IF NOT EXISTS settle_inbox_waiting ON settle_inbox (consumer, order_id, order_version) WHERE state IN ('held', 'dead');
CREATE TABLE IF NOT EXISTS settle_inbox_blocked (
  consumer text NOT NULL,
  order_id uuid NOT NULL,
  reason text NOT NULL,
  dead_letter_topic text NOT NULL,
  source_partition integer NOT NULL,
  source_offset text NOT NULL,
  blocked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, order_id)
);`;

/** Creates the inbox tables if they are missing (idempotent). */
export async function migrateInbox(db: pg.Pool | pg.PoolClient): Promise<void> {
  await db.query(INBOX_DDL);
}

export const SQL = {
  isBlocked: `SELECT 1 FROM settle_inbox_blocked WHERE consumer = $1 AND order_id = $2 FOR SHARE`,
  // A version at or below one already handled is dropped, as is any (order, version) already in the inbox.
  claim: `INSERT INTO settle_inbox (consumer, order_id, order_version, event_id, type, state, handled_at)
    SELECT $1, $2, $3, $4, $5, 'done', now()
     WHERE NOT EXISTS (SELECT 1 FROM settle_inbox WHERE consumer = $1 AND order_id = $2 AND order_version > $3 AND state = 'done')
    ON CONFLICT DO NOTHING RETURNING 1`,
  keep: `INSERT INTO settle_inbox (consumer, order_id, order_version, event_id, type, state, payload, headers, error)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
  block: `INSERT INTO settle_inbox_blocked (consumer, order_id, reason, dead_letter_topic, source_partition, source_offset)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
  lockBlocked: `SELECT reason FROM settle_inbox_blocked WHERE consumer = $1 AND order_id = $2 FOR UPDATE`,
  waiting: `SELECT order_version, state, payload, headers FROM settle_inbox
    WHERE consumer = $1 AND order_id = $2 AND state IN ('held', 'dead') ORDER BY order_version`,
  settle: `UPDATE settle_inbox SET state = $4, handled_at = now() WHERE consumer = $1 AND order_id = $2 AND order_version = $3`,
  unblock: `DELETE FROM settle_inbox_blocked WHERE consumer = $1 AND order_id = $2`,
  blocked: `SELECT order_id, reason, blocked_at FROM settle_inbox_blocked WHERE consumer = $1 ORDER BY blocked_at`,
} as const;
