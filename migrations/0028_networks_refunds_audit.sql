-- Up Migration
-- Money rules: an order names its network; every tx hash and wallet address is stored in that network's one
-- canonical form (EVM: 0x + 64 lower-case hex hashes, EIP-55 addresses; Tron: 64 lower-case hex hashes,
-- base58check T… addresses), and a hash is claimed by one order per network. Rows written before this
-- migration keep what they had (the checks are NOT VALID); `npm run reset` starts clean.
ALTER TABLE orders ADD COLUMN network text NOT NULL DEFAULT 'tron' CHECK (network IN ('ethereum', 'bsc', 'polygon', 'tron'));
ALTER TABLE orders ALTER COLUMN network DROP DEFAULT;
-- The recipient wallet fixed when the escrow is locked; later profile changes never move the money.
ALTER TABLE orders ADD COLUMN escrow_recipient_wallet text;
-- A compliance force action that ended the order: {action, reason, by, at}.
ALTER TABLE orders ADD COLUMN forced jsonb;

-- Uniqueness lives in tx_hashes, per network (the same hex may exist on two chains); the per-column UNIQUE
-- constraints would compare spellings across networks.
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_escrow_tx_hash_key;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_release_tx_hash_key;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_refund_tx_hash_key;

ALTER TABLE orders ADD CONSTRAINT orders_tx_hashes_canonical CHECK (
  (escrow_tx_hash IS NULL OR escrow_tx_hash ~ (CASE network WHEN 'tron' THEN '^[0-9a-f]{64}$' ELSE '^0x[0-9a-f]{64}$' END)) AND
  (release_tx_hash IS NULL OR release_tx_hash ~ (CASE network WHEN 'tron' THEN '^[0-9a-f]{64}$' ELSE '^0x[0-9a-f]{64}$' END)) AND
  (refund_tx_hash IS NULL OR refund_tx_hash ~ (CASE network WHEN 'tron' THEN '^[0-9a-f]{64}$' ELSE '^0x[0-9a-f]{64}$' END))
) NOT VALID;
-- A release or refund is never the escrow's own transaction.
ALTER TABLE orders ADD CONSTRAINT orders_settlement_not_escrow CHECK (release_tx_hash IS DISTINCT FROM escrow_tx_hash OR release_tx_hash IS NULL) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT orders_refund_not_escrow CHECK (refund_tx_hash IS DISTINCT FROM escrow_tx_hash OR refund_tx_hash IS NULL) NOT VALID;
-- Cancelling an order whose crypto was locked records where it went.
ALTER TABLE orders ADD CONSTRAINT orders_escrowed_cancel_refunded CHECK (status <> 'cancelled' OR escrow_tx_hash IS NULL OR refund_tx_hash IS NOT NULL) NOT VALID;

ALTER TABLE tx_hashes ADD COLUMN network text;
UPDATE tx_hashes h SET network = o.network FROM orders o WHERE o.id = h.order_id;
ALTER TABLE tx_hashes ALTER COLUMN network SET NOT NULL;
ALTER TABLE tx_hashes DROP CONSTRAINT tx_hashes_pkey;
ALTER TABLE tx_hashes ADD CONSTRAINT tx_hashes_pkey PRIMARY KEY (network, hash);

-- Profile wallets, one per account and network (the wallet released crypto falls back to before escrow).
CREATE TABLE account_wallets (
  kind       text        NOT NULL,
  id         text        NOT NULL,
  network    text        NOT NULL CHECK (network IN ('ethereum', 'bsc', 'polygon', 'tron')),
  address    text        NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, id, network),
  FOREIGN KEY (kind, id) REFERENCES accounts (kind, id) ON DELETE CASCADE
);
-- The single profile wallet per account is replaced by account_wallets.
ALTER TABLE accounts DROP COLUMN wallet_address;

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

-- The timer engine's queue holds only statuses a timer acts on; a dispute's deadline (timer_at, the compliance
-- SLA) is an alert, found through its own index.
DROP INDEX IF EXISTS orders_timer_idx;
CREATE INDEX orders_timer_idx ON orders (timer_at) WHERE timer_at IS NOT NULL AND status IN ('open', 'accepted', 'escrowed', 'payment_sent');
CREATE INDEX orders_dispute_sla_idx ON orders (timer_at) WHERE status = 'disputed';

-- Down Migration
DROP INDEX IF EXISTS orders_dispute_sla_idx;
DROP INDEX IF EXISTS orders_timer_idx;
CREATE INDEX orders_timer_idx ON orders (timer_at) WHERE timer_at IS NOT NULL;
DROP TABLE IF EXISTS order_audit;
DROP TABLE IF EXISTS account_wallets;
ALTER TABLE accounts ADD COLUMN wallet_address text;
ALTER TABLE tx_hashes DROP CONSTRAINT tx_hashes_pkey;
ALTER TABLE tx_hashes ADD CONSTRAINT tx_hashes_pkey PRIMARY KEY (hash);
ALTER TABLE tx_hashes DROP COLUMN network;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_escrowed_cancel_refunded;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_refund_not_escrow;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_settlement_not_escrow;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_tx_hashes_canonical;
ALTER TABLE orders ADD CONSTRAINT orders_escrow_tx_hash_key UNIQUE (escrow_tx_hash);
ALTER TABLE orders ADD CONSTRAINT orders_release_tx_hash_key UNIQUE (release_tx_hash);
ALTER TABLE orders ADD CONSTRAINT orders_refund_tx_hash_key UNIQUE (refund_tx_hash);
ALTER TABLE orders DROP COLUMN forced;
ALTER TABLE orders DROP COLUMN escrow_recipient_wallet;
ALTER TABLE orders DROP COLUMN network;
