-- Up Migration
-- Why an endpoint stopped receiving deliveries (e.g. its host came to resolve to a private address), shown to its
-- merchant in GET /v1/webhooks. NULL while it is enabled.
ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason text, ADD COLUMN disabled_at timestamptz;

-- Down Migration
ALTER TABLE webhook_endpoints DROP COLUMN IF EXISTS disabled_reason, DROP COLUMN IF EXISTS disabled_at;
