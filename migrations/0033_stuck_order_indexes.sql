-- Up Migration
-- The reconciler's evidence checks (packages/db reconcile.ts): orders holding a release or refund hash while still
-- locked. Both sets are empty unless something bypassed the write path (an import from the old system), so these
-- partial indexes cost nothing on the write path's normal rows.
CREATE INDEX orders_release_not_completed_idx ON orders (id) WHERE release_tx_hash IS NOT NULL AND status IN ('escrowed', 'payment_sent', 'disputed');
CREATE INDEX orders_refund_not_cancelled_idx ON orders (id) WHERE refund_tx_hash IS NOT NULL AND status IN ('escrowed', 'payment_sent', 'disputed');

-- Down Migration
DROP INDEX IF EXISTS orders_refund_not_cancelled_idx;
DROP INDEX IF EXISTS orders_release_not_completed_idx;
