-- Up Migration
-- A mirror of the dead-letter topic (filled by the notifier's DLT mirror consumer) so `settle-ops dlq list`
-- can filter fast; Kafka stays the source of truth and (dlt_topic, dlt_partition, dlt_offset) is unique.
CREATE TABLE dead_letters (
  id                   bigserial   PRIMARY KEY,
  dlt_topic            text        NOT NULL,
  dlt_partition        integer     NOT NULL,
  dlt_offset           bigint      NOT NULL,
  dlt_timestamp        timestamptz NOT NULL,
  original_topic       text        NOT NULL,
  original_partition   integer,
  original_offset      bigint,
  original_timestamp   text,
  consumer_group       text,
  exception_class      text        NOT NULL,
  exception_message    text        NOT NULL,
  exception_stacktrace text,
  attempts             integer     NOT NULL DEFAULT 1,
  event_id             uuid,
  event_type           text,
  order_id             uuid,
  -- Merchants named by the event (order.merchantId, order.buyerMerchantId) for `--merchant`.
  merchant_ids         text[]      NOT NULL DEFAULT '{}',
  channel              text        NOT NULL DEFAULT 'socket' CHECK (channel IN ('socket', 'webhook')),
  webhook_endpoint_id  uuid,
  message_key          text,
  message_value        bytea,
  -- Headers of the original message (without the dlt-* ones), as {name: utf8 value}.
  original_headers     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  -- open → replayed (re-published) | parked (replayed too often) | resolved (closed by a person).
  status               text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'parked', 'resolved')),
  -- Replays of this message so far, carried across DLT round trips (header settle-replay-count).
  replay_count         integer     NOT NULL DEFAULT 0,
  last_replayed_at     timestamptz,
  resolved_at          timestamptz,
  resolved_by          text,
  resolution_note      text,
  mirrored_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (dlt_topic, dlt_partition, dlt_offset)
);
CREATE INDEX dead_letters_status_idx ON dead_letters (status, id);
CREATE INDEX dead_letters_event_idx ON dead_letters (event_id);
CREATE INDEX dead_letters_time_idx ON dead_letters (dlt_timestamp);

-- Who did what to a dead letter, and why. Every replay and resolve writes here.
CREATE TABLE dead_letter_audit (
  id             bigserial   PRIMARY KEY,
  dead_letter_id bigint      NOT NULL REFERENCES dead_letters (id),
  action         text        NOT NULL CHECK (action IN ('replay', 'park', 'resolve')),
  actor          text        NOT NULL,
  reason         text        NOT NULL,
  details        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letter_audit_letter_idx ON dead_letter_audit (dead_letter_id);

-- Resumable replays: one cursor per filter; an interrupted `dlq replay` with the same filter continues
-- after the last id it replayed.
CREATE TABLE dead_letter_replay_cursors (
  filter_key   text        PRIMARY KEY,
  filter       jsonb       NOT NULL,
  last_id      bigint      NOT NULL DEFAULT 0,
  replayed     integer     NOT NULL DEFAULT 0,
  started_by   text        NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);

-- Down Migration
DROP TABLE IF EXISTS dead_letter_replay_cursors;
DROP TABLE IF EXISTS dead_letter_audit;
DROP TABLE IF EXISTS dead_letters;
