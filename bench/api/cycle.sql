-- One full order cycle as the API performs it: create + accept + escrow + paid + release, each its own
-- transaction that locks the order, updates it (version + 1), and writes an order_events and an outbox row.
-- Payload sizes match the API's events (~2 KB snapshot). pgbench variables make every cycle distinct.
\set n random(1, 1000000000)
BEGIN;
INSERT INTO orders (id, order_number, type, status, order_version, book_order, merchant_id, user_id, seller_kind, seller_id, buyer_kind, buyer_id,
  crypto_amount, crypto_currency, fiat_amount, fiat_currency, rate, fee_bps, payment_method, expires_at, timer_at, created_at, updated_at)
VALUES (md5(:n::text || clock_timestamp()::text)::uuid, 'BM-261125-' || upper(substr(md5(random()::text), 1, 8)), 'sell', 'open', 1, false, 'm-bench', 'u-bench', 'user', 'u-bench', 'merchant', 'm-bench',
  100, 'USDT', 367.25, 'AED', 3.6725, 0, 'upi', now() + interval '15 minutes', now() + interval '15 minutes', now(), now())
RETURNING id AS order_id \gset
INSERT INTO order_events (id, order_id, order_version, type, actor_role, actor_id, payload, occurred_at) VALUES (gen_random_uuid(), :order_id, 1, 'order.created', 'user', 'u-bench', :payload, now());
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, order_version, created_at) VALUES (gen_random_uuid(), 'order', :order_id, 'order.created', :payload, '{}', 1, now());
COMMIT;
BEGIN;
SELECT * FROM accounts WHERE (kind, id) IN (('user', 'u-bench'), ('merchant', 'm-bench'));
SELECT * FROM orders WHERE id = :order_id FOR UPDATE;
UPDATE orders SET status = 'accepted', order_version = 2, acceptor_wallet_address = 'BENCHWALLET0001', accepted_at = now(), expires_at = now() + interval '2 hours', timer_at = now() + interval '2 hours', updated_at = now() WHERE id = :order_id AND order_version = 1;
INSERT INTO order_events (id, order_id, order_version, type, actor_role, actor_id, payload, occurred_at) VALUES (gen_random_uuid(), :order_id, 2, 'order.accepted', 'merchant', 'm-bench', :payload, now());
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, order_version, created_at) VALUES (gen_random_uuid(), 'order', :order_id, 'order.accepted', :payload, '{}', 2, now());
COMMIT;
BEGIN;
SELECT * FROM accounts WHERE (kind, id) IN (('user', 'u-bench'), ('merchant', 'm-bench'));
SELECT * FROM orders WHERE id = :order_id FOR UPDATE;
INSERT INTO tx_hashes (hash, order_id, kind) VALUES ('0xescrow' || md5(:order_id::text), :order_id, 'escrow');
UPDATE orders SET status = 'escrowed', order_version = 3, escrow_tx_hash = '0xescrow' || md5(:order_id::text), escrow_funder_kind = 'user', escrow_funder_id = 'u-bench', escrowed_at = now(), payment_deadline = now() + interval '1 hour', timer_at = now() + interval '1 hour', updated_at = now() WHERE id = :order_id AND order_version = 2;
INSERT INTO order_events (id, order_id, order_version, type, actor_role, actor_id, payload, occurred_at) VALUES (gen_random_uuid(), :order_id, 3, 'order.escrow_locked', 'user', 'u-bench', :payload, now());
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, order_version, created_at) VALUES (gen_random_uuid(), 'order', :order_id, 'order.escrow_locked', :payload, '{}', 3, now());
COMMIT;
BEGIN;
SELECT * FROM accounts WHERE (kind, id) IN (('user', 'u-bench'), ('merchant', 'm-bench'));
SELECT * FROM orders WHERE id = :order_id FOR UPDATE;
UPDATE orders SET status = 'payment_sent', order_version = 4, payment_sent_at = now(), timer_at = now() + interval '2 hours', updated_at = now() WHERE id = :order_id AND order_version = 3;
INSERT INTO order_events (id, order_id, order_version, type, actor_role, actor_id, payload, occurred_at) VALUES (gen_random_uuid(), :order_id, 4, 'order.payment_sent', 'merchant', 'm-bench', :payload, now());
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, order_version, created_at) VALUES (gen_random_uuid(), 'order', :order_id, 'order.payment_sent', :payload, '{}', 4, now());
COMMIT;
BEGIN;
INSERT INTO idempotency_keys (principal, key, request_hash) VALUES ('bench-principal', md5(:order_id::text), 'h') ON CONFLICT DO NOTHING;
SELECT * FROM accounts WHERE (kind, id) IN (('user', 'u-bench'), ('merchant', 'm-bench'));
SELECT * FROM orders WHERE id = :order_id FOR UPDATE;
INSERT INTO tx_hashes (hash, order_id, kind) VALUES ('0xrelease' || md5(:order_id::text), :order_id, 'release');
UPDATE orders SET status = 'completed', order_version = 5, release_tx_hash = '0xrelease' || md5(:order_id::text), payment_confirmed_at = now(), completed_at = now(), timer_at = NULL, updated_at = now() WHERE id = :order_id AND order_version = 4;
INSERT INTO order_events (id, order_id, order_version, type, actor_role, actor_id, payload, occurred_at) VALUES (gen_random_uuid(), :order_id, 5, 'order.completed', 'user', 'u-bench', :payload, now());
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, order_version, created_at) VALUES (gen_random_uuid(), 'order', :order_id, 'order.completed', :payload, '{}', 5, now());
UPDATE idempotency_keys SET response_status = 200, response_body = :payload WHERE principal = 'bench-principal' AND key = md5(:order_id::text);
COMMIT;
