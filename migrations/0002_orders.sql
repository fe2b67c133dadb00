-- Up Migration
-- Accounts: users, merchants and compliance officers, with the profile wallet released crypto falls back to.
CREATE TABLE accounts (
  kind           text        NOT NULL CHECK (kind IN ('user', 'merchant', 'compliance')),
  id             text        NOT NULL CHECK (id ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
  name           text,
  wallet_address text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, id)
);

-- Orders: one row per order. Only packages/db's transition path writes it (version-checked, with an
-- order_events row and an outbox row in the same transaction). Money is exact NUMERIC, never float.
CREATE TABLE orders (
  id                         uuid        PRIMARY KEY,
  order_number               text        NOT NULL UNIQUE CHECK (order_number ~ '^BM-[0-9]{6}-[A-Z0-9]{8}$'),
  type                       text        NOT NULL CHECK (type IN ('buy', 'sell', 'm2m')),
  status                     text        NOT NULL CHECK (status IN ('open', 'accepted', 'escrowed', 'payment_sent', 'completed', 'cancelled', 'expired', 'disputed')),
  order_version              integer     NOT NULL CHECK (order_version >= 1),
  book_order                 boolean     NOT NULL,
  merchant_id                text,
  user_id                    text,
  buyer_merchant_id          text,
  seller_kind                text        CHECK (seller_kind IN ('user', 'merchant')),
  seller_id                  text,
  buyer_kind                 text        CHECK (buyer_kind IN ('user', 'merchant')),
  buyer_id                   text,
  crypto_amount              numeric     NOT NULL CHECK (crypto_amount > 0),
  crypto_currency            text        NOT NULL,
  fiat_amount                numeric     NOT NULL CHECK (fiat_amount > 0),
  fiat_currency              text        NOT NULL,
  rate                       numeric     NOT NULL CHECK (rate > 0),
  fee_bps                    integer     NOT NULL DEFAULT 0 CHECK (fee_bps BETWEEN 0 AND 10000),
  payment_method             text        NOT NULL CHECK (payment_method IN ('bank_transfer', 'upi', 'cash')),
  payment_details            jsonb,
  payment_reference          text,
  buyer_wallet_address       text,
  acceptor_wallet_address    text,
  escrow_tx_hash             text        UNIQUE,
  escrow_funder_kind         text        CHECK (escrow_funder_kind IN ('user', 'merchant')),
  escrow_funder_id           text,
  escrow_funder_wallet       text,
  release_tx_hash            text        UNIQUE,
  refund_tx_hash             text        UNIQUE,
  extension_count            integer     NOT NULL DEFAULT 0 CHECK (extension_count BETWEEN 0 AND 3),
  extension_requested_by_kind text,
  extension_requested_by_id  text,
  cancel_requested_by_kind   text,
  cancel_requested_by_id     text,
  cancel_reason              text,
  dispute                    jsonb,
  expires_at                 timestamptz,
  payment_deadline           timestamptz,
  timer_at                   timestamptz,
  created_at                 timestamptz NOT NULL,
  accepted_at                timestamptz,
  escrowed_at                timestamptz,
  payment_sent_at            timestamptz,
  payment_confirmed_at       timestamptz,
  completed_at               timestamptz,
  cancelled_at               timestamptz,
  expired_at                 timestamptz,
  disputed_at                timestamptz,
  updated_at                 timestamptz NOT NULL,
  -- Invariants the state machine guarantees, enforced again by the database.
  CHECK (status <> 'completed' OR (release_tx_hash IS NOT NULL AND completed_at IS NOT NULL)),
  CHECK (status NOT IN ('escrowed', 'payment_sent') OR escrow_tx_hash IS NOT NULL),
  CHECK (type = 'm2m' OR user_id IS NOT NULL),
  CHECK (type <> 'm2m' OR merchant_id IS NOT NULL)
);

CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX orders_merchant_idx ON orders (merchant_id, created_at DESC, id DESC) WHERE merchant_id IS NOT NULL;
CREATE INDEX orders_buyer_merchant_idx ON orders (buyer_merchant_id, created_at DESC, id DESC) WHERE buyer_merchant_id IS NOT NULL;
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_book_idx ON orders (created_at DESC, id DESC) WHERE book_order AND status = 'open';
-- The timer engine's work queue: due orders in statuses that have a timer.
CREATE INDEX orders_timer_idx ON orders (timer_at) WHERE timer_at IS NOT NULL;

-- Every transaction hash (escrow, release, refund) is used by one order only, whatever its role.
CREATE TABLE tx_hashes (
  hash       text        PRIMARY KEY,
  order_id   uuid        NOT NULL REFERENCES orders (id),
  kind       text        NOT NULL CHECK (kind IN ('escrow', 'release', 'refund')),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per transition, written with the order change and its outbox row.
CREATE TABLE order_events (
  id            uuid        PRIMARY KEY,
  order_id      uuid        NOT NULL REFERENCES orders (id),
  order_version integer     NOT NULL,
  type          text        NOT NULL,
  actor_role    text        NOT NULL,
  actor_id      text        NOT NULL,
  payload       jsonb       NOT NULL,
  occurred_at   timestamptz NOT NULL,
  UNIQUE (order_id, order_version)
);

-- Idempotency-Key records per principal: the stored response is replayed for the same key and body.
CREATE TABLE idempotency_keys (
  principal       text        NOT NULL,
  key             text        NOT NULL,
  request_hash    text        NOT NULL,
  order_id        uuid,
  response_status integer,
  response_body   jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Down Migration
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS order_events;
DROP TABLE IF EXISTS tx_hashes;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS accounts;
