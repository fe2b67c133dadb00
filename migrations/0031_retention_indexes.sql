-- Up Migration
-- Retention (the worker) deletes finished webhook deliveries once their finish is older than
-- RETENTION_WEBHOOK_DELIVERIES_DAYS. Without an index each round scanned the whole table; this one holds only
-- finished rows, so a delivery gets its entry when it is delivered or dead, not on each retry.
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries ((COALESCE(delivered_at, dead_at))) WHERE status IN ('delivered', 'dead');

-- Down Migration
DROP INDEX IF EXISTS webhook_deliveries_finished_idx;
