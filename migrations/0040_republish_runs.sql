-- Up Migration
-- One row per `settle-ops outbox republish` run: what was re-sent from order_events, by whom and why (the audit),
-- and how far it got (the cursor a resumed run continues from: the last event sent, in (occurred_at, order_id,
-- order_version) order).
CREATE TABLE republish_runs (
  id uuid PRIMARY KEY,
  filter_key text NOT NULL,
  since timestamptz NOT NULL,
  until timestamptz,
  order_id uuid,
  event_type text,
  topic text NOT NULL,
  requested_by text NOT NULL,
  reason text NOT NULL,
  total integer NOT NULL,
  sent integer NOT NULL DEFAULT 0,
  cursor_occurred_at timestamptz,
  cursor_order_id uuid,
  cursor_order_version integer,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX republish_runs_unfinished_idx ON republish_runs (filter_key) WHERE finished_at IS NULL;
CREATE INDEX order_events_occurred_at_idx ON order_events (occurred_at, order_id, order_version);

-- Down Migration
DROP INDEX IF EXISTS order_events_occurred_at_idx;
DROP TABLE IF EXISTS republish_runs;
