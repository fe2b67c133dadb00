-- Up Migration
-- Orders and what the one write path (packages/db orders/) writes with them: every transition changes the order
-- row, adds its order_events row (and an outbox row, 0002) in one transaction, version-checked.

-- Accounts: users, merchants and compliance officers.
CREATE TABLE accounts (
  kind       text        NOT NULL CHECK (kind IN ('user', 'merchant', 'compliance')),
  id         text        NOT NULL CHECK (id ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
  name       text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, id)
);

-- Profile wallets, one per account and network: where released crypto goes when the order names no wallet,
-- read when the escrow is locked (orders.escrow_recipient_wallet keeps what was read).
CREATE TABLE account_wallets (
  kind       text        NOT NULL,
  id         text        NOT NULL,
  network    text        NOT NULL CHECK (network IN ('ethereum', 'bsc', 'polygon', 'tron')),
  address    text        NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, id, network),
  FOREIGN KEY (kind, id) REFERENCES accounts (kind, id) ON DELETE CASCADE
);

-- One row per order. Money is exact NUMERIC, never float. Every tx hash and wallet address is stored in its
-- network's one canonical form (EVM: 0x + 64 lower-case hex hashes, EIP-55 addresses; Tron: 64 lower-case hex
-- hashes, base58check T… addresses); which order holds a hash is decided in tx_hashes, per network.
CREATE TABLE orders (
  id                          uuid        PRIMARY KEY,
  order_number                text        NOT NULL UNIQUE CHECK (order_number ~ '^BM-[0-9]{6}-[A-Z0-9]{8}$'),
  type                        text        NOT NULL CHECK (type IN ('buy', 'sell', 'm2m')),
  network                     text        NOT NULL CHECK (network IN ('ethereum', 'bsc', 'polygon', 'tron')),
  status                      text        NOT NULL CHECK (status IN ('open', 'accepted', 'escrowed', 'payment_sent', 'completed', 'cancelled', 'expired', 'disputed')),
  order_version               integer     NOT NULL CHECK (order_version >= 1),
  book_order                  boolean     NOT NULL,
  merchant_id                 text,
  user_id                     text,
  buyer_merchant_id           text,
  seller_kind                 text        CHECK (seller_kind IN ('user', 'merchant')),
  seller_id                   text,
  buyer_kind                  text        CHECK (buyer_kind IN ('user', 'merchant')),
  buyer_id                    text,
  crypto_amount               numeric     NOT NULL CHECK (crypto_amount > 0),
  crypto_currency             text        NOT NULL,
  fiat_amount                 numeric     NOT NULL CHECK (fiat_amount > 0),
  fiat_currency               text        NOT NULL,
  rate                        numeric     NOT NULL CHECK (rate > 0),
  fee_bps                     integer     NOT NULL DEFAULT 0 CHECK (fee_bps BETWEEN 0 AND 10000),
  payment_method              text        NOT NULL CHECK (payment_method IN ('bank_transfer', 'upi', 'cash')),
  payment_details             jsonb,
  payment_reference           text,
  buyer_wallet_address        text,
  acceptor_wallet_address     text,
  escrow_tx_hash              text,
  escrow_funder_kind          text        CHECK (escrow_funder_kind IN ('user', 'merchant')),
  escrow_funder_id            text,
  escrow_funder_wallet        text,
  -- The recipient wallet fixed when the escrow is locked; later profile changes never move the money.
  escrow_recipient_wallet     text,
  release_tx_hash             text,
  refund_tx_hash              text,
  extension_count             integer     NOT NULL DEFAULT 0 CHECK (extension_count BETWEEN 0 AND 3),
  extension_requested_by_kind text,
  extension_requested_by_id   text,
  cancel_requested_by_kind    text,
  cancel_requested_by_id      text,
  cancel_reason               text,
  dispute                     jsonb,
  -- A compliance force action that ended the order: {action, reason, by, at}.
  forced                      jsonb,
  expires_at                  timestamptz,
  payment_deadline            timestamptz,
  timer_at                    timestamptz,
  created_at                  timestamptz NOT NULL,
  accepted_at                 timestamptz,
  escrowed_at                 timestamptz,
  payment_sent_at             timestamptz,
  payment_confirmed_at        timestamptz,
  completed_at                timestamptz,
  cancelled_at                timestamptz,
  expired_at                  timestamptz,
  disputed_at                 timestamptz,
  updated_at                  timestamptz NOT NULL,
  -- Invariants the state machine guarantees, enforced again by the database.
  CHECK (status <> 'completed' OR (release_tx_hash IS NOT NULL AND completed_at IS NOT NULL)),
  CHECK (status NOT IN ('escrowed', 'payment_sent') OR escrow_tx_hash IS NOT NULL),
  CHECK (type = 'm2m' OR user_id IS NOT NULL),
  CHECK (type <> 'm2m' OR merchant_id IS NOT NULL),
  CONSTRAINT orders_tx_hashes_canonical CHECK (
    (escrow_tx_hash IS NULL OR escrow_tx_hash ~ (CASE network WHEN 'tron' THEN '^[0-9a-f]{64}$' ELSE '^0x[0-9a-f]{64}$' END)) AND
    (release_tx_hash IS NULL OR release_tx_hash ~ (CASE network WHEN 'tron' THEN '^[0-9a-f]{64}$' ELSE '^0x[0-9a-f]{64}$' END)) AND
    (refund_tx_hash IS NULL OR refund_tx_hash ~ (CASE network WHEN 'tron' THEN '^[0-9a-f]{64}$' ELSE '^0x[0-9a-f]{64}$' END))
  ),
  -- A release or refund is never the escrow's own transaction.
  CONSTRAINT orders_settlement_not_escrow CHECK (release_tx_hash IS DISTINCT FROM escrow_tx_hash OR release_tx_hash IS NULL),
  CONSTRAINT orders_refund_not_escrow CHECK (refund_tx_hash IS DISTINCT FROM escrow_tx_hash OR refund_tx_hash IS NULL),
  -- Cancelling an order whose crypto was locked records where it went.
  CONSTRAINT orders_escrowed_cancel_refunded CHECK (status <> 'cancelled' OR escrow_tx_hash IS NULL OR refund_tx_hash IS NOT NULL)
);

-- The lists (GET /v1/orders per user, merchant and buyer merchant, newest first) and the order book.
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX orders_merchant_idx ON orders (merchant_id, created_at DESC, id DESC) WHERE merchant_id IS NOT NULL;
CREATE INDEX orders_buyer_merchant_idx ON orders (buyer_merchant_id, created_at DESC, id DESC) WHERE buyer_merchant_id IS NOT NULL;
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_book_idx ON orders (created_at DESC, id DESC) WHERE book_order AND status = 'open';
-- The timer engine's queue holds only statuses a timer acts on; a dispute's deadline (timer_at, the compliance
-- SLA) is an alert, found through its own index.
CREATE INDEX orders_timer_idx ON orders (timer_at) WHERE timer_at IS NOT NULL AND status IN ('open', 'accepted', 'escrowed', 'payment_sent');
CREATE INDEX orders_dispute_sla_idx ON orders (timer_at) WHERE status = 'disputed';
-- The reconciler's evidence checks (packages/db reconcile.ts): orders holding a release or refund hash while still
-- locked. Both sets are empty unless something bypassed the write path (an import from the old system), so these
-- partial indexes cost nothing on the write path's normal rows.
CREATE INDEX orders_release_not_completed_idx ON orders (id) WHERE release_tx_hash IS NOT NULL AND status IN ('escrowed', 'payment_sent', 'disputed');
CREATE INDEX orders_refund_not_cancelled_idx ON orders (id) WHERE refund_tx_hash IS NOT NULL AND status IN ('escrowed', 'payment_sent', 'disputed');

-- Every transaction hash (escrow, release, refund) is used by one order only, whatever its role, per network
-- (the same hex may exist on two chains).
CREATE TABLE tx_hashes (
  network    text        NOT NULL,
  hash       text        NOT NULL,
  order_id   uuid        NOT NULL REFERENCES orders (id),
  kind       text        NOT NULL CHECK (kind IN ('escrow', 'release', 'refund')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (network, hash)
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
-- `settle-ops outbox republish` walks events in (occurred_at, order_id, order_version) order.
CREATE INDEX order_events_occurred_at_idx ON order_events (occurred_at, order_id, order_version);

-- Who did what outside the normal flow (compliance force actions, repairs), and why; written by the one write
-- path in the same transaction as the order change and its event.
CREATE TABLE order_audit (
  id            bigserial   PRIMARY KEY,
  order_id      uuid        NOT NULL REFERENCES orders (id),
  order_version integer     NOT NULL,
  event_id      uuid        NOT NULL,
  action        text        NOT NULL,
  actor_role    text        NOT NULL,
  actor_id      text        NOT NULL,
  reason        text        NOT NULL,
  at            timestamptz NOT NULL
);
CREATE INDEX order_audit_order_idx ON order_audit (order_id, id);
CREATE INDEX order_audit_at_idx ON order_audit (at);

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
DROP TABLE IF EXISTS order_audit;
DROP TABLE IF EXISTS order_events;
DROP TABLE IF EXISTS tx_hashes;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS account_wallets;
DROP TABLE IF EXISTS accounts;
