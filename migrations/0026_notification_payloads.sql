-- Up Migration
-- A notification's payload (~1.5–3 KB of JSON) is the same for every recipient of an event: it is stored once per
-- event here instead of once per recipient row. The per-recipient rows stay small, so writing them costs less and
-- an ack (delivered_at) rewrites ~100 bytes instead of the whole payload (bench/notifier measured Postgres as half
-- of the CPU per delivery). Rows written before this migration keep their own payload (readers take
-- COALESCE(notifications.payload, notification_payloads.payload)).
CREATE TABLE notification_payloads (
  event_id   uuid        PRIMARY KEY,
  payload    jsonb       NOT NULL,
  -- Who got a row for this event: retention deletes a payload once none of these rows is left (found through
  -- the UNIQUE (recipient, event_id) index).
  recipients text[]      NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_payloads_created_brin ON notification_payloads USING brin (created_at);
ALTER TABLE notifications ALTER COLUMN payload DROP NOT NULL;

DO $$
BEGIN
  ALTER TABLE notification_payloads ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server; payloads keep the default compression';
END $$;

-- Down Migration
UPDATE notifications n SET payload = p.payload FROM notification_payloads p WHERE n.payload IS NULL AND p.event_id = n.event_id;
ALTER TABLE notifications ALTER COLUMN payload SET NOT NULL;
DROP TABLE IF EXISTS notification_payloads;
