-- Up Migration
-- Notification payloads are ~3 KB of JSON, above the TOAST threshold: pglz compression was half the cost of
-- writing a chunk of notifications (measured by bench/notifier). lz4 compresses several times faster; servers
-- built without lz4 keep the default.
DO $$
BEGIN
  ALTER TABLE notifications ALTER COLUMN payload SET COMPRESSION lz4;
  ALTER TABLE book_events ALTER COLUMN payload SET COMPRESSION lz4;
  ALTER TABLE webhook_deliveries ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server; payloads keep the default compression';
END $$;

-- Down Migration
ALTER TABLE notifications ALTER COLUMN payload SET COMPRESSION default;
ALTER TABLE book_events ALTER COLUMN payload SET COMPRESSION default;
ALTER TABLE webhook_deliveries ALTER COLUMN payload SET COMPRESSION default;
