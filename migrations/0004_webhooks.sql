-- Up Migration
-- Webhooks, the second channel: merchants register HTTPS endpoints; each private event for a merchant becomes
-- one delivery per enabled endpoint, written in the notifier's transaction and sent by its dispatcher,
-- signed per Standard Webhooks (webhook-id = delivery id, webhook-timestamp, webhook-signature).
CREATE TABLE webhook_endpoints (
  id          uuid        PRIMARY KEY,
  merchant_id text        NOT NULL,
  url         text        NOT NULL,
  -- `whsec_<base64>`; shown to the merchant once at registration.
  secret      text        NOT NULL,
  -- NULL = every event type.
  event_types text[],
  description text,
  enabled     boolean     NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  -- Why the endpoint stopped receiving deliveries (e.g. its host came to resolve to a private address), shown to
  -- its merchant in GET /v1/webhooks. NULL while it is enabled.
  disabled_reason text,
  disabled_at     timestamptz
);
CREATE INDEX webhook_endpoints_merchant_idx ON webhook_endpoints (merchant_id) WHERE enabled;

CREATE TABLE webhook_deliveries (
  id                 uuid        PRIMARY KEY,
  endpoint_id        uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id           uuid        NOT NULL,
  order_id           uuid        NOT NULL,
  event_type         text        NOT NULL,
  payload            jsonb       NOT NULL,
  -- The Kafka message it came from (for the dead-letter headers) and its raw value (what a replay re-publishes).
  source_topic       text        NOT NULL,
  source_partition   integer     NOT NULL,
  source_offset      bigint      NOT NULL,
  source_timestamp   text        NOT NULL,
  source_key         text,
  source_value       bytea       NOT NULL,
  -- Its Kafka headers as text: the delivery's dead letter carries them as a socket dead letter carries its
  -- message's, so a replay's settle-replay-count survives the round trip and DLQ_MAX_REPLAYS can park it.
  source_headers     jsonb       NOT NULL DEFAULT '{}',
  status             text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts           integer     NOT NULL DEFAULT 0,
  next_attempt_at    timestamptz NOT NULL DEFAULT now(),
  -- A dispatcher holds a due delivery until then (crash safety instead of a long transaction).
  locked_until       timestamptz,
  last_status_code   integer,
  last_error         text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  delivered_at       timestamptz,
  dead_at            timestamptz,
  UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- Retention (the worker) deletes finished deliveries once their finish is older than RETENTION_WEBHOOK_DELIVERIES_DAYS;
-- only finished rows have an entry, so a delivery gets one when it is delivered or dead, not on each retry.
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries ((COALESCE(delivered_at, dead_at))) WHERE status IN ('delivered', 'dead');

-- Every HTTP attempt, kept for the merchant's delivery log and for ops.
CREATE TABLE webhook_attempts (
  delivery_id uuid        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt     integer     NOT NULL,
  started_at  timestamptz NOT NULL,
  duration_ms integer     NOT NULL,
  status_code integer,
  error       text,
  PRIMARY KEY (delivery_id, attempt)
);

-- Payloads are above the TOAST threshold; lz4 compresses several times faster than pglz (see 0003).
DO $$
BEGIN
  ALTER TABLE webhook_deliveries ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server; payloads keep the default compression';
END $$;

-- Down Migration
DROP TABLE IF EXISTS webhook_attempts;
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhook_endpoints;
