-- Up Migration
-- Acks update delivered_at on every row. With delivered_at indexed, each ack rewrote an entry in every index of
-- the table; without it (and with free space on each page) the update is HOT. Retention finds old rows through
-- a BRIN index on created_at (delivered_at >= created_at), which does not stop HOT updates. The order-room
-- check reads the orders table by primary key instead of a (recipient, order_id) index here.
DROP INDEX IF EXISTS notifications_delivered_idx;
DROP INDEX IF EXISTS notifications_recipient_order_idx;
CREATE INDEX notifications_created_brin ON notifications USING brin (created_at);
ALTER TABLE notifications SET (fillfactor = 85);

-- Down Migration
ALTER TABLE notifications RESET (fillfactor);
DROP INDEX IF EXISTS notifications_created_brin;
CREATE INDEX notifications_recipient_order_idx ON notifications (recipient, order_id);
CREATE INDEX notifications_delivered_idx ON notifications (delivered_at) WHERE delivered_at IS NOT NULL;
