-- Up Migration
-- The transactional outbox, in Debezium's outbox column conventions so Debezium could replace our relay.
-- Rows are written in the same transaction as the state change they announce and kept 7 days for audit
-- and re-publish; the worker deletes older ones.
CREATE TABLE outbox (
  id            uuid PRIMARY KEY,
  aggregatetype text        NOT NULL,
  aggregateid   text        NOT NULL,
  type          text        NOT NULL,
  payload       jsonb       NOT NULL,
  headers       jsonb       NOT NULL DEFAULT '{}'::jsonb,
  order_version integer,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Set only by the polling relay (RELAY_MODE=poll); the WAL relay never updates rows.
  published_at  timestamptz
);

CREATE INDEX outbox_created_at_idx ON outbox (created_at);
CREATE INDEX outbox_unpublished_idx ON outbox (created_at, id) WHERE published_at IS NULL;

-- The WAL relay reads inserts only: updates (poll mode) and deletes (retention) never reach Kafka.
CREATE PUBLICATION settle_outbox_pub FOR TABLE outbox WITH (publish = 'insert');

-- Which logical replication slots the relay setup created. A slot that is recorded here but no longer exists
-- was lost (dropped, or invalidated by max_slot_wal_keep_size): the relay refuses to start rather than
-- silently creating a fresh slot that would skip every event committed since the old slot's position.
CREATE TABLE relay_slots (
  slot_name      text        PRIMARY KEY,
  publication    text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  -- Set by the explicit ops action (settle-ops relay recreate-slot), never by the relay itself.
  recreated_at   timestamptz,
  recreate_count integer     NOT NULL DEFAULT 0
);

-- One row per `settle-ops outbox republish` run: what was re-sent from order_events, by whom and why (the audit),
-- and how far it got (the cursor a resumed run continues from: the last event sent, in (occurred_at, order_id,
-- order_version) order).
CREATE TABLE republish_runs (
  id                   uuid        PRIMARY KEY,
  filter_key           text        NOT NULL,
  since                timestamptz NOT NULL,
  until                timestamptz,
  order_id             uuid,
  event_type           text,
  topic                text        NOT NULL,
  requested_by         text        NOT NULL,
  reason               text        NOT NULL,
  total                integer     NOT NULL,
  sent                 integer     NOT NULL DEFAULT 0,
  cursor_occurred_at   timestamptz,
  cursor_order_id      uuid,
  cursor_order_version integer,
  started_at           timestamptz NOT NULL DEFAULT now(),
  finished_at          timestamptz
);
CREATE INDEX republish_runs_unfinished_idx ON republish_runs (filter_key) WHERE finished_at IS NULL;

-- Down Migration
DROP TABLE IF EXISTS republish_runs;
DROP TABLE IF EXISTS relay_slots;
DROP PUBLICATION IF EXISTS settle_outbox_pub;
DROP TABLE IF EXISTS outbox;
