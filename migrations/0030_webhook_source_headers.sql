-- Up Migration
-- The Kafka headers (as text) of the message a webhook delivery came from. Its dead letter carries them as a
-- socket dead letter carries its message's, so a replay's settle-replay-count survives the round trip through the
-- dead-letter topic and DLQ_MAX_REPLAYS can park a delivery that keeps failing.
ALTER TABLE webhook_deliveries ADD COLUMN source_headers jsonb NOT NULL DEFAULT '{}';

-- Down Migration
ALTER TABLE webhook_deliveries DROP COLUMN IF EXISTS source_headers;
