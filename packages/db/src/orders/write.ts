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
  type Decision,
  type Network,
  networkOf,
  type Order,
  type OrderPolicy,
  type OrderEvent,
  type OrderView,
  type Party,
  type ProfileWallets,
} from '@settle/domain';
import type pg from 'pg';
import { named, type Pool, type PoolClient, type Queryable } from '../pool';
import { CREATED_COLUMNS, NUMERIC_COLUMNS, orderFromJsonRow, WRITTEN_COLUMNS, type OrderRow } from './rows';

const INSERTED_COLUMNS = [...CREATED_COLUMNS, ...WRITTEN_COLUMNS];

/** The Kafka aggregate type of order events (the relay maps it to the order events topic). */
export const ORDER_AGGREGATE = 'order';

/** How often a transition is re-decided on fresh state when another writer changed the order in between. */
const MAX_ATTEMPTS = 10;

/** The caller's stored Idempotency-Key (null parameters read nothing), as a column of both reads. */
const IDEMPOTENCY_COLUMN = (principal: string, key: string): string => `(
  SELECT json_build_object('requestHash', k.request_hash, 'status', k.response_status, 'body', k.response_body)
    FROM idempotency_keys k WHERE k.principal = ${principal} AND k.key = ${key}
) AS idempotency`;

/** Profile wallets on `network` of the accounts matching `where`, as one JSON object keyed `kind:id`. */
const WALLETS_COLUMN = (network: string, where: string): string => `(
  SELECT coalesce(json_object_agg(w.kind || ':' || w.id, w.address), '{}'::json) FROM account_wallets w WHERE w.network = ${network} AND (${where})
) AS profile_wallets`;

/**
 * Round trip 1 of a transition: the order, the profile wallets of its parties and of the actor, and the
 * caller's stored Idempotency-Key. No lock: the write below only applies to the version read here.
 * The order comes as one JSON column, with its NUMERIC columns again as text (exact): for a 50-column row
 * that costs the API far less CPU than pg's per-column result handling.
 */
const READ_ORDER_SQL = `SELECT to_json(o) AS "order", ${NUMERIC_COLUMNS.map((name) => `o.${name}::text`).join(', ')},
  ${WALLETS_COLUMN('o.network', `(w.kind = 'user' AND w.id = o.user_id) OR (w.kind = 'merchant' AND w.id IN (o.merchant_id, o.buyer_merchant_id)) OR (w.kind = $2 AND w.id = $3)`)},
  ${IDEMPOTENCY_COLUMN('$4', '$5')}
  FROM orders o WHERE o.id = $1`;

/**
 * Round trip 1 of a create: the parties' profile wallets on the order's network ($5), the caller's stored
 * Idempotency-Key, and whether the addressed merchant ($6) exists.
 */
const READ_PROFILES_SQL = `SELECT ${WALLETS_COLUMN('$5', '(w.kind, w.id) IN (SELECT * FROM unnest($1::text[], $2::text[]))')}, ${IDEMPOTENCY_COLUMN('$3', '$4')},
  EXISTS (SELECT 1 FROM accounts WHERE kind = 'merchant' AND id = $6) AS addressed_known`;

/**
 * The event rows of a write: order_events and the outbox (Debezium outbox columns) carry the same event, the
 * Idempotency-Key's stored response, and an audit row when the change carries a reason (force actions, repairs).
 * Its 18 parameters (eventParams order) start at `$first`; `source` is the CTE whose row makes the write happen.
 */
const EVENT_CTES = (source: string, first: number): string => {
  const p = (offset: number): string => `$${first + offset}`;
  return `event AS (
    INSERT INTO order_events (id, order_id, order_version, type, actor_role, actor_id, payload, occurred_at)
    SELECT ${p(0)}::uuid, ${p(1)}::uuid, ${p(2)}::integer, ${p(3)}::text, ${p(4)}::text, ${p(5)}::text, ${p(6)}::jsonb, ${p(7)}::timestamptz FROM ${source}
    RETURNING id
  ), outbox AS (
    INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, order_version, created_at)
    SELECT event.id, '${ORDER_AGGREGATE}', ${p(1)}::text, ${p(3)}::text, ${p(6)}::jsonb, ${p(8)}::jsonb, ${p(2)}::integer, ${p(7)}::timestamptz FROM event
  ), stored AS (
    INSERT INTO idempotency_keys (principal, key, request_hash, order_id, response_status, response_body)
    SELECT ${p(9)}::text, ${p(10)}::text, ${p(11)}::text, ${p(1)}::uuid, ${p(12)}::integer, ${p(13)}::jsonb FROM ${source} WHERE ${p(10)}::text IS NOT NULL
  ), audit AS (
    INSERT INTO order_audit (order_id, order_version, event_id, action, actor_role, actor_id, reason, at)
    SELECT ${p(1)}::uuid, ${p(2)}::integer, event.id, ${p(14)}::text, ${p(16)}::text, ${p(17)}::text, ${p(15)}::text, ${p(7)}::timestamptz FROM event WHERE ${p(15)}::text IS NOT NULL
  )`;
};

/**
 * Round trip 2 of a transition, one statement and so one transaction: the order update (only if it is still
 * at the version that was read), the claims of its new tx hashes, its order_events and outbox rows and the
 * Idempotency-Key's stored response. Nothing is written unless the update applied.
 */
const WRITE_TRANSITION_SQL = `WITH updated AS (
    UPDATE orders SET ${WRITTEN_COLUMNS.map(([name], index) => `${name} = $${index + 5}`).join(', ')}
     WHERE id = $1 AND order_version = $2
    RETURNING id, network
  ), hashes AS (
    INSERT INTO tx_hashes (network, hash, order_id, kind)
    SELECT updated.network, h.hash, updated.id, h.kind FROM updated, unnest($3::text[], $4::text[]) AS h (hash, kind)
  ), ${EVENT_CTES('updated', WRITTEN_COLUMNS.length + 5)}
  SELECT count(*)::integer AS applied FROM updated`;

/** A create, one statement: the order row, its `order.created` event and outbox rows, the stored key. */
const WRITE_CREATE_SQL = `WITH created AS (
    INSERT INTO orders (${INSERTED_COLUMNS.map(([name]) => name).join(', ')}) VALUES (${INSERTED_COLUMNS.map((_, index) => `$${index + 1}`).join(', ')})
    RETURNING id
  ), ${EVENT_CTES('created', INSERTED_COLUMNS.length + 1)}
  SELECT count(*)::integer AS applied FROM created`;

export interface TransitionRequest {
  orderId: string;
  command: Command;
  actor: Actor;
  /** The `If-Match` version the caller last saw; a different current version answers 412. */
  ifMatch?: number | undefined;
  /** An `Idempotency-Key` with a hash of the request it came with. */
  idempotency?: { key: string; requestHash: string } | undefined;
  now?: string | undefined;
  /** Timers, networks, currencies and fees. @default DEFAULT_POLICY */
  policy?: OrderPolicy | undefined;
  /** Who asked for this change and why, for the audit row (a repair run by an operator as the system). */
  audit?: { by: string; reason: string } | undefined;
  /** The W3C traceparent of the request or job making the change: stored in the outbox row's headers. */
  traceparent?: string | undefined;
}

export type TransitionResult =
  /** `json` is `order` as JSON text, already made for the event: the HTTP response reuses it. */
  | { kind: 'applied'; order: OrderView; event: OrderEvent; json: string }
  | { kind: 'unchanged'; order: OrderView }
  /** The stored response of an earlier request with the same Idempotency-Key and body. */
  | { kind: 'replayed'; status: number; body: unknown };

type Idempotency = TransitionRequest['idempotency'];
interface StoredKey {
  requestHash: string;
  status: number | null;
  body: unknown;
}

const principalOf = (actor: Actor): string => `${actor.role}:${actor.id}`;

/** The stored response for this key and request, or undefined when the key is new; another body answers 422. */
function replayOf(stored: StoredKey | null, idempotency: Idempotency): TransitionResult | undefined {
  if (idempotency === undefined || stored === null) return undefined;
  if (stored.requestHash !== idempotency.requestHash) {
    throw new SettleError(
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key ${idempotency.key} was already used with a different request; use a new key for a new request`,
    );
  }
  return { kind: 'replayed', status: stored.status ?? 200, body: stored.body };
}

/** The key's parameters of a write: principal, key, request hash, response status and body (all null without a key). */
function keyParams(actor: Actor, idempotency: Idempotency, status: number, bodyJson: string): unknown[] {
  if (idempotency === undefined) return [null, null, null, null, null];
  return [principalOf(actor), idempotency.key, idempotency.requestHash, status, bodyJson];
}

/** The event's parameters of a write, in EVENT_CTES order. */
function eventParams(
  event: OrderEvent,
  actor: Actor,
  keys: unknown[],
  traceparent: string | undefined,
  audit: { action: string; reason: string; role: string; id: string } | null = null,
): unknown[] {
  return [
    event.eventId,
    event.orderId,
    event.orderVersion,
    event.type,
    actor.role,
    actor.id,
    JSON.stringify(event),
    event.occurredAt,
    JSON.stringify({ orderNumber: event.orderNumber, actorRole: actor.role, ...(traceparent !== undefined ? { traceparent } : {}) }),
    ...keys,
    audit?.action ?? null,
    audit?.reason ?? null,
    audit?.role ?? null,
    audit?.id ?? null,
  ];
}

/**
 * The audit row of a transition: a force action's reason from the domain, or the operator and reason a repair was
 * requested with (the event's actor is then the system).
 */
function auditOf(
  request: TransitionRequest,
  decision: Extract<Decision, { kind: 'transition' }>,
): { action: string; reason: string; role: string; id: string } | null {
  if (request.audit !== undefined)
    return { action: decision.action, reason: request.audit.reason, role: request.actor.role, id: request.audit.by };
  if (decision.audit !== null)
    return { action: decision.action, reason: decision.audit.reason, role: request.actor.role, id: request.actor.id };
  return null;
}

/** Profile wallets of the given parties on every network, read inside the caller's transaction. */
export async function profileWallets(client: Pick<PoolClient, 'query'>, parties: Party[]): Promise<(network: Network) => ProfileWallets> {
  const result = await client.query<{ network: Network; kind: string; id: string; address: string }>(
    `SELECT network, kind, id, address FROM account_wallets WHERE (kind, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [parties.map((p) => p.kind), parties.map((p) => p.id)],
  );
  const wallets = new Map(result.rows.map((row) => [`${row.network}:${row.kind}:${row.id}`, row.address]));
  return (network) => (party) => wallets.get(`${network}:${party.kind}:${party.id}`) ?? null;
}

/**
 * Runs `attempt` on one pooled connection until it settles: a write that lost to a concurrent writer
 * (`undefined`) is decided again on the state that writer left, as if it had waited for the row lock.
 */
async function withRetries<T>(
  pool: Pool | PoolClient,
  attempt: (client: Queryable) => Promise<T | undefined>,
  onExhausted: () => never,
): Promise<T> {
  const client = 'release' in pool ? pool : await pool.connect();
  try {
    for (let attempts = 0; attempts < MAX_ATTEMPTS; attempts += 1) {
      const result = await attempt(client);
      if (result !== undefined) return result;
    }
    return onExhausted();
  } finally {
    if (client !== pool) client.release();
  }
}

/**
 * Creates an order: the order row, its `order.created` event and its outbox row, in one statement (one
 * transaction), after one read of the parties' profiles and the caller's Idempotency-Key.
 */
export async function createOrderRecord(
  pool: Pool,
  input: CreateOrderInput,
  actor: Actor,
  options: { now?: string | undefined; policy?: OrderPolicy | undefined; idempotency?: Idempotency; traceparent?: string | undefined } = {},
): Promise<TransitionResult> {
  const parties: Party[] = actor.role === 'user' || actor.role === 'merchant' ? [{ kind: actor.role, id: actor.id }] : [];
  const addressed: Party | undefined = input.merchantId === undefined ? undefined : { kind: 'merchant', id: input.merchantId };
  if (addressed !== undefined) parties.push(addressed);
  const keyRead = options.idempotency === undefined ? [null, null] : [principalOf(actor), options.idempotency.key];
  const network = networkOf(input, options.policy);
  return withRetries(
    pool,
    async (client) => {
      const read = await client.query<{
        profile_wallets: Record<string, string | null>;
        idempotency: StoredKey | null;
        addressed_known: boolean;
      }>(
        named('read_profiles', READ_PROFILES_SQL, [
          parties.map((p) => p.kind),
          parties.map((p) => p.id),
          ...keyRead,
          network,
          addressed?.id ?? null,
        ]),
      );
      const row = read.rows[0];
      const replay = replayOf(row?.idempotency ?? null, options.idempotency);
      if (replay !== undefined) return replay;
      const walletMap = row?.profile_wallets ?? {};
      const wallets: ProfileWallets = (party) => walletMap[`${party.kind}:${party.id}`] ?? null;
      if (addressed !== undefined && row?.addressed_known !== true) {
        throw new SettleError('INVALID_INPUT', `merchantId ${addressed.id} is not a known merchant (see GET /v1/merchants)`);
      }
      const now = options.now ?? new Date().toISOString();
      const order = createOrder(input, actor, {
        id: randomUUID(),
        orderNumber: orderNumber(now, randomBytes(8)),
        now,
        profileWallet: wallets,
        ...(options.policy !== undefined ? { policy: options.policy } : {}),
      });
      const view = toView(order, wallets);
      const event = buildEvent({ eventId: randomUUID(), type: 'order.created', order: view, previousStatus: null, actor, occurredAt: now });
      const json = JSON.stringify(view);
      const written = await write(
        client,
        named('write_create', WRITE_CREATE_SQL, [
          ...INSERTED_COLUMNS.map(([, value]) => value(order)),
          ...eventParams(event, actor, keyParams(actor, options.idempotency, 201, json), options.traceparent),
        ]),
      );
      return written ? ({ kind: 'applied', order: view, event, json } as const) : undefined;
    },
    () => {
      throw new SettleError('CONFLICT', 'the Idempotency-Key is being used by a concurrent request; retry shortly', { retryable: true });
    },
  );
}

/**
 * The one write path for every status change (HTTP, timers, disputes, repairs): read the order, check the
 * transition with the domain, then in one statement (one transaction) update it (version + 1, only if still
 * at the version read), claim its tx hashes, insert its order_events and outbox rows. A concurrent change in
 * between makes the update miss: the transition is decided again on the new state.
 */
export async function applyTransition(pool: Pool, request: TransitionRequest): Promise<TransitionResult> {
  return applyTransitionWith(pool, request);
}

/**
 * applyTransition on a pool, or on a client inside the caller's transaction (e.g. the timer engine's batch,
 * under a savepoint: there a lost race surfaces as an error, as the transaction cannot go on).
 */
export async function applyTransitionWith(target: Pool | PoolClient, request: TransitionRequest): Promise<TransitionResult> {
  const actorKind = request.actor.role === 'user' || request.actor.role === 'merchant' ? request.actor.role : null;
  const keyRead = request.idempotency === undefined ? [null, null] : [principalOf(request.actor), request.idempotency.key];
  let last: Order | undefined;
  return withRetries(
    target,
    async (client) => {
      const read = await client.query<OrderRow>(
        named('read_order', READ_ORDER_SQL, [request.orderId, actorKind, request.actor.id, ...keyRead]),
      );
      const row = read.rows[0];
      if (row === undefined) throw new SettleError('NOT_FOUND', `order ${request.orderId} was not found`);
      const before = orderFromJsonRow(row);
      last = before;
      const replay = replayOf(row['idempotency'] as StoredKey | null, request.idempotency);
      if (replay !== undefined) return replay;
      assertVisible(before, request.command.action, request.actor);
      const walletMap = row['profile_wallets'] as Record<string, string | null>;
      const wallets: ProfileWallets = (party) => walletMap[`${party.kind}:${party.id}`] ?? null;
      if (request.ifMatch !== undefined && request.ifMatch !== before.orderVersion) {
        throw new SettleError(
          'PRECONDITION_FAILED',
          `If-Match version ${request.ifMatch} is stale: the order is at version ${before.orderVersion}; re-read it and retry`,
          {
            extra: { orderVersion: before.orderVersion, status: before.status },
          },
        );
      }

      const now = request.now ?? new Date().toISOString();
      const decision = decide(before, request.command, request.actor, {
        now,
        profileWallet: wallets,
        ...(request.policy !== undefined ? { policy: request.policy } : {}),
      });
      if (decision.kind === 'unchanged') {
        const view = toView(decision.order, wallets);
        if (request.idempotency !== undefined) {
          const [principal, key, requestHash, status, body] = keyParams(request.actor, request.idempotency, 200, JSON.stringify(view));
          const stored = await write(
            client,
            named(
              'store_key',
              `INSERT INTO idempotency_keys (principal, key, request_hash, order_id, response_status, response_body) VALUES ($1, $2, $3, $4, $5, $6)`,
              [principal, key, requestHash, before.id, status, body],
            ),
          );
          if (!stored) return undefined;
        }
        return { kind: 'unchanged', order: view } as const;
      }

      const after = decision.order;
      // The wallets read above cover every party the transition can add (the actor is the only newcomer).
      const view = toView(after, wallets);
      const json = JSON.stringify(view);
      const event = buildEvent({
        eventId: randomUUID(),
        type: decision.eventType,
        order: view,
        previousStatus: decision.previousStatus,
        actor: request.actor,
        occurredAt: now,
      });
      const hashes = newTxHashes(before, after);
      const written = await write(
        client,
        named('write_transition', WRITE_TRANSITION_SQL, [
          after.id,
          before.orderVersion,
          hashes.map(([hash]) => hash),
          hashes.map(([, kind]) => kind),
          ...WRITTEN_COLUMNS.map(([, value]) => value(after)),
          ...eventParams(
            event,
            request.actor,
            keyParams(request.actor, request.idempotency, 200, json),
            request.traceparent,
            auditOf(request, decision),
          ),
        ]),
        before,
      );
      return written ? ({ kind: 'applied', order: view, event, json } as const) : undefined;
    },
    () => {
      throw new SettleError('CONFLICT', 'the order keeps changing concurrently; re-read it and retry', {
        retryable: true,
        extra: { orderVersion: last?.orderVersion, status: last?.status },
      });
    },
  );
}

/**
 * Runs one write statement: true when it applied, false when it lost a race that a fresh read settles (the
 * order moved on, or a concurrent request stored the same Idempotency-Key). A tx hash another order holds
 * answers 409.
 */
async function write(client: Queryable, query: { name: string; text: string; values: unknown[] }, before?: Order): Promise<boolean> {
  try {
    const result = await client.query<{ applied?: number }>(query);
    return result.rows[0]?.applied !== 0;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // Lost to a concurrent writer of the same key or version, or drew a taken order number: decide again.
    if (['idempotency_keys_pkey', 'order_events_order_id_order_version_key', 'orders_order_number_key'].includes(error.constraint ?? ''))
      return false;
    if (error.constraint === 'tx_hashes_pkey') {
      // detail: Key (network, hash)=(tron, 4f1c…) already exists.
      const [network, hash] = (/\)=\((.*)\)/.exec(error.detail ?? '')?.[1] ?? '').split(', ');
      throw new SettleError(
        'CONFLICT',
        `transaction hash ${hash ?? '(in this request)'} is already used by another order on ${network ?? 'this network'}: one on-chain transaction settles one order`,
        {
          ...(before !== undefined ? { extra: { orderVersion: before.orderVersion, status: before.status } } : {}),
        },
      );
    }
    throw error;
  }
}

const TX_KINDS = [
  ['escrowTxHash', 'escrow'],
  ['releaseTxHash', 'release'],
  ['refundTxHash', 'refund'],
] as const;

/** The tx hashes a transition sets, with their kinds: each is claimed in tx_hashes (one order per hash). */
function newTxHashes(before: Order, after: Order): Array<[string, string]> {
  const hashes: Array<[string, string]> = [];
  for (const [field, kind] of TX_KINDS) {
    const hash = after[field];
    if (hash !== null && hash !== before[field]) hashes.push([hash, kind]);
  }
  return hashes;
}

export function isUniqueViolation(error: unknown): error is pg.DatabaseError {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}
