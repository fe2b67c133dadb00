-- Up Migration
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

-- Down Migration
DROP TABLE IF EXISTS book_events;
DROP TABLE IF EXISTS book_sequence;
