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

-- Down Migration
DROP PUBLICATION IF EXISTS settle_outbox_pub;
DROP TABLE IF EXISTS outbox;
