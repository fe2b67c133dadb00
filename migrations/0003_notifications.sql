-- Up Migration
-- Per-recipient inbox of the notifier (ARCHITECTURE.md "Notifier delivery"). Each recipient (`merchant:<id>`,
-- `user:<id>`, `compliance:compliance`) has its own increasing `seq` (gap-free except after a rare concurrent
-- duplicate): a client reconnects with the highest seq it holds and the notifier replays every row above it.
-- `(recipient, event_id)` is unique so a redelivered Kafka message writes nothing twice.
CREATE TABLE notification_recipients (
  recipient  text        PRIMARY KEY,
  -- The highest seq handed out; bumped in the transaction that inserts the rows, under this row's lock.
  last_seq   bigint      NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The rows stay small (the payload is stored once per event, below): an ack rewrites ~100 bytes, and with no index
-- on delivered_at and free space on each page (fillfactor) it is a HOT update. Retention finds old rows through a
-- BRIN index on created_at (delivered_at >= created_at); the order-room check reads orders by primary key.
CREATE TABLE notifications (
  recipient     text        NOT NULL,
  seq           bigint      NOT NULL CHECK (seq > 0),
  event_id      uuid        NOT NULL,
  order_id      uuid        NOT NULL,
  order_version integer     NOT NULL,
  type          text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Set when a client acknowledged the socket message; delivery latency = delivered_at - the event's occurredAt.
  delivered_at  timestamptz,
  PRIMARY KEY (recipient, seq),
  UNIQUE (recipient, event_id)
) WITH (fillfactor = 85);
CREATE INDEX notifications_created_brin ON notifications USING brin (created_at);

-- A notification's payload (the socket payload without `seq`, ~1.5–3 KB of JSON) is the same for every recipient
-- of an event, so it is stored once per event. `json` (validated text), not `jsonb`: it is written and read whole
-- and never queried inside.
CREATE TABLE notification_payloads (
  event_id   uuid        PRIMARY KEY,
  payload    json        NOT NULL,
  -- Who got a row for this event: retention deletes a payload once none of these rows is left (found through
  -- the UNIQUE (recipient, event_id) index).
  recipients text[]      NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_payloads_created_brin ON notification_payloads USING brin (created_at);

-- The merchants' order book is snapshot plus deltas: each book event (a book order created, or leaving the
-- book) is emitted once to the book room with a book-wide, gap-free `book_seq`, never stored per merchant.
-- `GET /v1/orders/book` answers its snapshot with the current `book_seq` (currentBookSeq in packages/db).
CREATE TABLE book_sequence (
  id       boolean PRIMARY KEY DEFAULT true CHECK (id),
  last_seq bigint  NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);
INSERT INTO book_sequence (id, last_seq) VALUES (true, 0);

-- One row per book event (not per merchant): dedupes redelivered Kafka messages and keeps the seq a
-- redelivery must re-use.
CREATE TABLE book_events (
  event_id      uuid        PRIMARY KEY,
  book_seq      bigint      NOT NULL UNIQUE,
  order_id      uuid        NOT NULL,
  order_version integer     NOT NULL,
  payload       jsonb       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Set after the emit; a redelivered message re-emits only rows still NULL here.
  emitted_at    timestamptz
);
CREATE INDEX book_events_created_idx ON book_events (created_at);

-- Payloads are above the TOAST threshold: pglz was half the cost of writing a chunk of notifications (bench/notifier);
-- lz4 compresses several times faster. Servers built without lz4 keep the default.
DO $$
BEGIN
  ALTER TABLE notification_payloads ALTER COLUMN payload SET COMPRESSION lz4;
  ALTER TABLE book_events ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server; payloads keep the default compression';
END $$;

-- Down Migration
DROP TABLE IF EXISTS book_events;
DROP TABLE IF EXISTS book_sequence;
DROP TABLE IF EXISTS notification_payloads;
DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS notification_recipients;
