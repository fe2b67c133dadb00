import { randomBytes, randomUUID } from 'node:crypto';
import {
  assertVisible,
  buildEvent,
  createOrder,
  decide,
  orderNumber,
  SettleError,
  toView,
  type Actor,
  type Command,
  type CreateOrderInput,
  type EventType,
  type Order,
  type OrderEvent,
  type OrderView,
  type Party,
  type ProfileWallets,
  type Status,
  type TimerSettings,
} from '@settle/domain';
import type pg from 'pg';
import { inTransaction, type Pool, type PoolClient } from '../pool';
import { CREATED_COLUMNS, orderFromRow, WRITTEN_COLUMNS } from './rows';

const INSERTED_COLUMNS = [...CREATED_COLUMNS, ...WRITTEN_COLUMNS];
const INSERT_ORDER_SQL = `INSERT INTO orders (${INSERTED_COLUMNS.map(([name]) => name).join(', ')}) VALUES (${INSERTED_COLUMNS.map((_, index) => `$${index + 1}`).join(', ')})`;
const UPDATE_ORDER_SQL = `UPDATE orders SET ${WRITTEN_COLUMNS.map(([name], index) => `${name} = $${index + 3}`).join(', ')} WHERE id = $1 AND order_version = $2`;

/**
 * The write path's statements are named, so each pooled connection parses and plans them once (pg keeps
 * named prepared statements per connection), as pgbench -M prepared does.
 */
const named = (name: string, text: string, values: unknown[]): { name: string; text: string; values: unknown[] } => ({ name: `settle_${name}`, text, values });

/** The Kafka aggregate type of order events (the relay maps it to the order events topic). */
export const ORDER_AGGREGATE = 'order';

export interface TransitionRequest {
  orderId: string;
  command: Command;
  actor: Actor;
  /** The `If-Match` version the caller last saw; a different current version answers 412. */
  ifMatch?: number | undefined;
  /** An `Idempotency-Key` with a hash of the request it came with. */
  idempotency?: { key: string; requestHash: string } | undefined;
  now?: string | undefined;
  timers?: TimerSettings | undefined;
}

export type TransitionResult =
  | { kind: 'applied'; order: OrderView; event: OrderEvent }
  | { kind: 'unchanged'; order: OrderView }
  /** The stored response of an earlier request with the same Idempotency-Key and body. */
  | { kind: 'replayed'; status: number; body: unknown };

/** Profile wallets of the given parties (and which of them have an account), read in one query. */
async function readProfiles(client: Pick<PoolClient, 'query'>, parties: Party[]): Promise<{ wallets: ProfileWallets; known: (party: Party) => boolean }> {
  if (parties.length === 0) return { wallets: () => null, known: () => false };
  const result = await client.query<{ kind: string; id: string; wallet_address: string | null }>(
    `SELECT kind, id, wallet_address FROM accounts WHERE (kind, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [parties.map((party) => party.kind), parties.map((party) => party.id)],
  );
  const wallets = new Map(result.rows.map((row) => [`${row.kind}:${row.id}`, row.wallet_address]));
  return { wallets: (party) => wallets.get(`${party.kind}:${party.id}`) ?? null, known: (party) => wallets.has(`${party.kind}:${party.id}`) };
}

/** Profile wallets of the given parties, read inside the caller's transaction. */
export async function profileWallets(client: Pick<PoolClient, 'query'>, parties: Party[]): Promise<ProfileWallets> {
  return (await readProfiles(client, parties)).wallets;
}

/**
 * Creates an order: the order row, its `order.created` event and its outbox row, in one transaction.
 */
export async function createOrderRecord(
  pool: Pool,
  input: CreateOrderInput,
  actor: Actor,
  options: { now?: string | undefined; timers?: TimerSettings | undefined; idempotency?: { key: string; requestHash: string } | undefined } = {},
): Promise<TransitionResult> {
  return inTransaction(pool, async (client) => {
    const replay = await claimIdempotencyKey(client, actor, options.idempotency);
    if (replay !== undefined) return replay;
    const now = options.now ?? new Date().toISOString();
    // One read: the creator's profile wallet and whether the addressed merchant exists.
    const parties: Party[] = actor.role === 'user' || actor.role === 'merchant' ? [{ kind: actor.role, id: actor.id }] : [];
    const addressed: Party | undefined = input.merchantId === undefined ? undefined : { kind: 'merchant', id: input.merchantId };
    if (addressed !== undefined) parties.push(addressed);
    const { wallets, known } = await readProfiles(client, parties);
    const order = createOrder(input, actor, {
      id: randomUUID(),
      orderNumber: orderNumber(now, randomBytes(8)),
      now,
      profileWallet: wallets,
      ...(options.timers !== undefined ? { timers: options.timers } : {}),
    });
    if (addressed !== undefined && !known(addressed)) {
      throw new SettleError('INVALID_INPUT', `merchantId ${addressed.id} is not a known merchant (see GET /v1/merchants)`);
    }
    const columns = INSERTED_COLUMNS;
    await client.query(named('insert_order', INSERT_ORDER_SQL, columns.map(([, value]) => value(order))));
    const view = toView(order, wallets);
    const event = await recordEvent(client, view, 'order.created', null, actor, now);
    const result: TransitionResult = { kind: 'applied', order: view, event };
    await storeIdempotentResponse(client, actor, options.idempotency, order.id, 201, view);
    return result;
  });
}

/**
 * The one write path for every status change (HTTP, timers, disputes, repairs): lock the order, check the
 * transition with the domain, update it (version + 1), insert its order_events and outbox rows — one transaction.
 */
export async function applyTransition(pool: Pool, request: TransitionRequest): Promise<TransitionResult> {
  return inTransaction(pool, (client) => applyTransitionWith(client, request));
}

/** applyTransition inside the caller's transaction (e.g. the timer engine's batch, under a savepoint). */
export async function applyTransitionWith(client: PoolClient, request: TransitionRequest): Promise<TransitionResult> {
  const replay = await claimIdempotencyKey(client, request.actor, request.idempotency);
  if (replay !== undefined) return replay;

  // One round trip: lock the order and read the profile wallets of its parties and of the actor.
  const actorKind = request.actor.role === 'user' || request.actor.role === 'merchant' ? request.actor.role : null;
  const locked = await client.query(
    named(
      'lock_order',
      `SELECT o.*, (
        SELECT coalesce(json_object_agg(a.kind || ':' || a.id, a.wallet_address), '{}'::json) FROM accounts a
         WHERE (a.kind = 'user' AND a.id = o.user_id)
            OR (a.kind = 'merchant' AND a.id IN (o.merchant_id, o.buyer_merchant_id))
            OR (a.kind = $2 AND a.id = $3)
      ) AS profile_wallets
       FROM orders o WHERE o.id = $1 FOR UPDATE OF o`,
      [request.orderId, actorKind, request.actor.id],
    ),
  );
  const row = locked.rows[0];
  if (row === undefined) throw new SettleError('NOT_FOUND', `order ${request.orderId} was not found`);
  const before = orderFromRow(row);
  const walletMap = row['profile_wallets'] as Record<string, string | null>;
  const wallets: ProfileWallets = (party) => walletMap[`${party.kind}:${party.id}`] ?? null;
  assertVisible(before, request.command.action, request.actor);
  if (request.ifMatch !== undefined && request.ifMatch !== before.orderVersion) {
    throw new SettleError('PRECONDITION_FAILED', `If-Match version ${request.ifMatch} is stale: the order is at version ${before.orderVersion}; re-read it and retry`, {
      extra: { orderVersion: before.orderVersion, status: before.status },
    });
  }

  const now = request.now ?? new Date().toISOString();
  const decision = decide(before, request.command, request.actor, {
    now,
    profileWallet: wallets,
    ...(request.timers !== undefined ? { timers: request.timers } : {}),
  });
  if (decision.kind === 'unchanged') {
    const view = toView(decision.order, wallets);
    await storeIdempotentResponse(client, request.actor, request.idempotency, before.id, 200, view);
    return { kind: 'unchanged', order: view };
  }

  const after = decision.order;
  // Claim new tx hashes first: tx_hashes names the clash (any role, any order) before orders' own UNIQUEs fire.
  await recordTxHashes(client, before, after);
  const updated = await client.query(named('update_order', UPDATE_ORDER_SQL, [after.id, before.orderVersion, ...WRITTEN_COLUMNS.map(([, value]) => value(after))]));
  if (updated.rowCount !== 1) {
    throw new SettleError('CONFLICT', 'the order changed concurrently; re-read it and retry', { extra: { orderVersion: before.orderVersion, status: before.status } });
  }
  // The wallets read above cover every party the transition can add (the actor is the only newcomer).
  const view = toView(after, wallets);
  const event = await recordEvent(client, view, decision.eventType, decision.previousStatus, request.actor, now);
  await storeIdempotentResponse(client, request.actor, request.idempotency, after.id, 200, view);
  return { kind: 'applied', order: view, event };
}

/**
 * Inserts the event into order_events and the outbox (Debezium outbox columns) in one statement of the
 * caller's transaction: a failure of either insert fails both.
 */
async function recordEvent(client: PoolClient, order: OrderView, type: EventType, previousStatus: Status | null, actor: Actor, now: string): Promise<OrderEvent> {
  const event = buildEvent({ eventId: randomUUID(), type, order, previousStatus, actor, occurredAt: now });
  await client.query(
    named(
      'record_event',
      `WITH event AS (
       INSERT INTO order_events (id, order_id, order_version, type, actor_role, actor_id, payload, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       RETURNING id
     )
     INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, order_version, created_at)
     SELECT event.id, $9, $2, $4, $7, $10, $3, $8 FROM event`,
      [event.eventId, event.orderId, event.orderVersion, event.type, actor.role, actor.id, JSON.stringify(event), now, ORDER_AGGREGATE, JSON.stringify({ orderNumber: event.orderNumber, actorRole: actor.role })],
    ),
  );
  return event;
}

const TX_KINDS = [
  ['escrowTxHash', 'escrow'],
  ['releaseTxHash', 'release'],
  ['refundTxHash', 'refund'],
] as const;

/** Claims newly set tx hashes in tx_hashes, so a hash serves one order only, whatever its role. */
async function recordTxHashes(client: PoolClient, before: Order, after: Order): Promise<void> {
  for (const [field, kind] of TX_KINDS) {
    const hash = after[field];
    if (hash === null || hash === before[field]) continue;
    const claimed = await client.query(named('claim_tx_hash', `INSERT INTO tx_hashes (hash, order_id, kind) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING`, [hash, after.id, kind]));
    if (claimed.rowCount !== 1) {
      throw new SettleError('CONFLICT', `transaction hash ${hash} is already used by another order`, { extra: { orderVersion: before.orderVersion, status: before.status } });
    }
  }
}

export function isUniqueViolation(error: unknown): error is pg.DatabaseError {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}

const principalOf = (actor: Actor): string => `${actor.role}:${actor.id}`;

/**
 * Claims an Idempotency-Key for this request. A concurrent request with the same key waits here until the
 * first commits (unique index), then gets its stored response; a different body answers 422.
 */
async function claimIdempotencyKey(client: PoolClient, actor: Actor, idempotency: TransitionRequest['idempotency']): Promise<TransitionResult | undefined> {
  if (idempotency === undefined) return undefined;
  const claimed = await client.query(
    `INSERT INTO idempotency_keys (principal, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT (principal, key) DO NOTHING`,
    [principalOf(actor), idempotency.key, idempotency.requestHash],
  );
  if (claimed.rowCount === 1) return undefined;
  const stored = await client.query<{ request_hash: string; response_status: number | null; response_body: unknown }>(
    `SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE principal = $1 AND key = $2`,
    [principalOf(actor), idempotency.key],
  );
  const row = stored.rows[0];
  if (row === undefined || row.request_hash !== idempotency.requestHash) {
    throw new SettleError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${idempotency.key} was already used with a different request; use a new key for a new request`);
  }
  if (row.response_status === null) {
    throw new SettleError('CONFLICT', `a request with Idempotency-Key ${idempotency.key} is still in progress; retry shortly`, { retryable: true });
  }
  return { kind: 'replayed', status: row.response_status, body: row.response_body };
}

async function storeIdempotentResponse(client: PoolClient, actor: Actor, idempotency: TransitionRequest['idempotency'], orderId: string, status: number, body: unknown): Promise<void> {
  if (idempotency === undefined) return;
  await client.query('UPDATE idempotency_keys SET order_id = $3, response_status = $4, response_body = $5 WHERE principal = $1 AND key = $2', [
    principalOf(actor),
    idempotency.key,
    orderId,
    status,
    JSON.stringify(body),
  ]);
}
