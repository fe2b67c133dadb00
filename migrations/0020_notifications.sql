-- Up Migration
-- Per-recipient inbox of the notifier (ARCHITECTURE.md "Notifier delivery"). Each recipient (`merchant:<id>`,
-- `user:<id>`, `compliance:compliance`) has its own increasing `seq` (gap-free except after a rare concurrent duplicate): a client reconnects with the
-- highest seq it holds and the notifier replays every row above it. `(recipient, event_id)` is unique so a
-- redelivered Kafka message writes nothing twice.
CREATE TABLE notification_recipients (
  recipient  text        PRIMARY KEY,
  -- The highest seq handed out; bumped in the transaction that inserts the rows, under this row's lock.
  last_seq   bigint      NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
  recipient     text        NOT NULL,
  seq           bigint      NOT NULL CHECK (seq > 0),
  event_id      uuid        NOT NULL,
  order_id      uuid        NOT NULL,
  order_version integer     NOT NULL,
  type          text        NOT NULL,
  -- The socket payload without `seq` (seq is the column above).
  payload       jsonb       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Set when a client acknowledged the socket message; delivery latency = delivered_at - created_at.
  delivered_at  timestamptz,
  PRIMARY KEY (recipient, seq),
  UNIQUE (recipient, event_id)
);

-- Order rooms: a socket may join `order:<id>` only when its recipient was told about that order.
CREATE INDEX notifications_recipient_order_idx ON notifications (recipient, order_id);
-- Retention: delivered rows older than 7 days are deleted (deleteDeliveredNotifications).
CREATE INDEX notifications_delivered_idx ON notifications (delivered_at) WHERE delivered_at IS NOT NULL;

-- Down Migration
DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS notification_recipients;
