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
import { bindSql, namedSql } from '../named-sql';
import type { Pool, PoolClient, Queryable } from '../pool';
import { CREATED_COLUMNS, NUMERIC_COLUMNS, orderFromJsonRow, WRITTEN_COLUMNS, type OrderRow } from './rows';

const INSERTED_COLUMNS = [...CREATED_COLUMNS, ...WRITTEN_COLUMNS];

/** The Kafka aggregate type of order events (the relay maps it to the order events topic). */
export const ORDER_AGGREGATE = 'order';

/** How often a transition is re-decided on fresh state when another writer changed the order in between. */
const MAX_ATTEMPTS = 10;

/** The caller's stored Idempotency-Key (null parameters read nothing), as a column of both reads. */
const IDEMPOTENCY_COLUMN = `(
    SELECT json_build_object('requestHash', k.request_hash, 'status', k.response_status, 'body', k.response_body)
      FROM idempotency_keys k WHERE k.principal = :key_principal AND k.key = :key
  ) AS idempotency`;

/** Profile wallets on `network` of the accounts matching `where`, as one JSON object keyed `kind:id`. */
const walletsColumn = (network: string, where: string): string => `(
    SELECT coalesce(json_object_agg(w.kind || ':' || w.id, w.address), '{}'::json)
      FROM account_wallets w WHERE w.network = ${network} AND (${where})
  ) AS profile_wallets`;

/**
 * Round trip 1 of a transition: the order, the profile wallets of its parties and of the actor, and the
 * caller's stored Idempotency-Key. No lock: the write below only applies to the version read here.
 * The order comes as one JSON column, with its NUMERIC columns again as text (exact): for a 50-column row
 * that costs the API far less CPU than pg's per-column result handling.
 */
const READ_ORDER = namedSql<'order_id' | 'actor_kind' | 'actor_id' | 'key_principal' | 'key'>(
  'read_order',
  `SELECT to_json(o) AS "order", ${NUMERIC_COLUMNS.map((name) => `o.${name}::text`).join(', ')},
  ${walletsColumn(
    'o.network',
    `(w.kind = 'user' AND w.id = o.user_id)
        OR (w.kind = 'merchant' AND w.id IN (o.merchant_id, o.buyer_merchant_id))
        OR (w.kind = :actor_kind AND w.id = :actor_id)`,
  )},
  ${IDEMPOTENCY_COLUMN}
  FROM orders o WHERE o.id = :order_id`,
);

/**
 * Round trip 1 of a create: the parties' profile wallets on the order's network, the caller's stored
 * Idempotency-Key, and whether the addressed merchant exists.
 */
const READ_PROFILES = namedSql<'party_kinds' | 'party_ids' | 'network' | 'key_principal' | 'key' | 'addressed_merchant'>(
  'read_profiles',
  `SELECT ${walletsColumn(':network', '(w.kind, w.id) IN (SELECT * FROM unnest(:party_kinds::text[], :party_ids::text[]))')},
  ${IDEMPOTENCY_COLUMN},
  EXISTS (SELECT 1 FROM accounts WHERE kind = 'merchant' AND id = :addressed_merchant) AS addressed_known`,
);

/**
 * The event rows of a write, after the CTE `source` whose row makes the write happen: order_events and the outbox
 * (Debezium outbox columns) carry the same event, the Idempotency-Key's stored response (when there is a key), and an
 * audit row when the change carries a reason (force actions, repairs). Parameters: EventValues.
 */
const EVENT_ROWS = `event AS (
    INSERT INTO order_events (id, order_id, order_version, type, actor_role, actor_id, payload, occurred_at)
    SELECT :event_id::uuid, :order_id::uuid, :order_version::integer, :event_type::text, :actor_role::text, :actor_id::text,
           :payload::jsonb, :occurred_at::timestamptz
      FROM source
    RETURNING id
  ), outbox AS (
    INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, order_version, created_at)
    SELECT event.id, '${ORDER_AGGREGATE}', :order_id::text, :event_type::text, :payload::jsonb, :headers::jsonb, :order_version::integer,
           :occurred_at::timestamptz
      FROM event
  ), stored AS (
    INSERT INTO idempotency_keys (principal, key, request_hash, order_id, response_status, response_body)
    SELECT :key_principal::text, :key::text, :key_request_hash::text, :order_id::uuid, :key_status::integer, :key_body::jsonb
      FROM source WHERE :key::text IS NOT NULL
  ), audit AS (
    INSERT INTO order_audit (order_id, order_version, event_id, action, actor_role, actor_id, reason, at)
    SELECT :order_id::uuid, :order_version::integer, event.id, :audit_action::text, :audit_role::text, :audit_id::text, :audit_reason::text,
           :occurred_at::timestamptz
      FROM event WHERE :audit_reason::text IS NOT NULL
  )`;

/** The parameters of EVENT_ROWS. */
type EventValues = Record<
  | 'event_id'
  | 'order_id'
  | 'order_version'
  | 'event_type'
  | 'actor_role'
  | 'actor_id'
  | 'payload'
  | 'occurred_at'
  | 'headers'
  | KeyParam
  | 'audit_action'
  | 'audit_reason'
  | 'audit_role'
  | 'audit_id',
  unknown
>;
type KeyParam = 'key_principal' | 'key' | 'key_request_hash' | 'key_status' | 'key_body';

/** `column = :column` for each written column: the parameters are the columns' own names (orderValues). */
const SET_WRITTEN = WRITTEN_COLUMNS.map(([name]) => `${name} = :${name}`).join(',\n        ');

/**
 * Round trip 2 of a transition, one statement and so one transaction: the order update (only if it is still
 * at the version that was read), the claims of its new tx hashes, its order_events and outbox rows and the
 * Idempotency-Key's stored response. Nothing is written unless the update applied.
 */
const WRITE_TRANSITION = namedSql(
  'write_transition',
  `WITH source AS (
    UPDATE orders
       SET ${SET_WRITTEN}
     WHERE id = :order_id AND order_version = :read_version
    RETURNING id, network
  ), hashes AS (
    INSERT INTO tx_hashes (network, hash, order_id, kind)
    SELECT source.network, h.hash, source.id, h.kind FROM source, unnest(:hashes::text[], :hash_kinds::text[]) AS h (hash, kind)
  ), ${EVENT_ROWS}
  SELECT count(*)::integer AS applied FROM source`,
);

/** A create, one statement: the order row, its `order.created` event and outbox rows, the stored key. */
const WRITE_CREATE = namedSql(
  'write_create',
  `WITH source AS (
    INSERT INTO orders (${INSERTED_COLUMNS.map(([name]) => name).join(', ')})
    VALUES (${INSERTED_COLUMNS.map(([name]) => `:${name}`).join(', ')})
    RETURNING id
  ), ${EVENT_ROWS}
  SELECT count(*)::integer AS applied FROM source`,
);

/** The order's value for each of `columns`, keyed by column name (the parameters of SET_WRITTEN and WRITE_CREATE). */
function orderValues(order: Order, columns: ReadonlyArray<readonly [string, (order: Order) => unknown]>): Record<string, unknown> {
  return Object.fromEntries(columns.map(([name, value]) => [name, value(order)]));
}

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

/** The parameters of IDEMPOTENCY_COLUMN: the caller's key, or nulls (which read nothing). */
const keyLookup = (actor: Actor, idempotency: Idempotency): { key_principal: string | null; key: string | null } =>
  idempotency === undefined ? { key_principal: null, key: null } : { key_principal: principalOf(actor), key: idempotency.key };

/** A transition that changes nothing still stores the caller's key with its response. */
const STORE_KEY = namedSql<KeyParam | 'order_id'>(
  'store_key',
  `INSERT INTO idempotency_keys (principal, key, request_hash, order_id, response_status, response_body)
   VALUES (:key_principal, :key, :key_request_hash, :order_id, :key_status, :key_body)`,
);

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

/** The key's parameters of a write (all null without a key). */
function keyValues(actor: Actor, idempotency: Idempotency, status: number, bodyJson: string): Record<KeyParam, unknown> {
  if (idempotency === undefined) return { key_principal: null, key: null, key_request_hash: null, key_status: null, key_body: null };
  return {
    key_principal: principalOf(actor),
    key: idempotency.key,
    key_request_hash: idempotency.requestHash,
    key_status: status,
    key_body: bodyJson,
  };
}

/** The parameters of EVENT_ROWS: the event, serialised whole, and what travels beside it. */
function eventValues(
  event: OrderEvent,
  actor: Actor,
  keys: Record<KeyParam, unknown>,
  traceparent: string | undefined,
  audit: { action: string; reason: string; role: string; id: string } | null = null,
): EventValues {
  return {
    event_id: event.eventId,
    order_id: event.orderId,
    order_version: event.orderVersion,
    event_type: event.type,
    actor_role: actor.role,
    actor_id: actor.id,
    payload: JSON.stringify(event),
    occurred_at: event.occurredAt,
    headers: JSON.stringify({
      orderNumber: event.orderNumber,
      actorRole: actor.role,
      ...(traceparent !== undefined ? { traceparent } : {}),
    }),
    ...keys,
    audit_action: audit?.action ?? null,
    audit_reason: audit?.reason ?? null,
    audit_role: audit?.role ?? null,
    audit_id: audit?.id ?? null,
  };
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
  pool: Pool | PoolClient,
  input: CreateOrderInput,
  actor: Actor,
  options: { now?: string | undefined; policy?: OrderPolicy | undefined; idempotency?: Idempotency; traceparent?: string | undefined } = {},
): Promise<TransitionResult> {
  const parties: Party[] = actor.role === 'user' || actor.role === 'merchant' ? [{ kind: actor.role, id: actor.id }] : [];
  const addressed: Party | undefined = input.merchantId === undefined ? undefined : { kind: 'merchant', id: input.merchantId };
  if (addressed !== undefined) parties.push(addressed);
  const keyRead = keyLookup(actor, options.idempotency);
  const network = networkOf(input, options.policy);
  return withRetries(
    pool,
    async (client) => {
      const read = await client.query<{
        profile_wallets: Record<string, string | null>;
        idempotency: StoredKey | null;
        addressed_known: boolean;
      }>(
        bindSql(READ_PROFILES, {
          party_kinds: parties.map((p) => p.kind),
          party_ids: parties.map((p) => p.id),
          ...keyRead,
          network,
          addressed_merchant: addressed?.id ?? null,
        }),
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
        bindSql(WRITE_CREATE, {
          ...orderValues(order, INSERTED_COLUMNS),
          ...eventValues(event, actor, keyValues(actor, options.idempotency, 201, json), options.traceparent),
        }),
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
  const keyRead = keyLookup(request.actor, request.idempotency);
  let last: Order | undefined;
  return withRetries(
    target,
    async (client) => {
      const read = await client.query<OrderRow>(
        bindSql(READ_ORDER, { order_id: request.orderId, actor_kind: actorKind, actor_id: request.actor.id, ...keyRead }),
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
          const stored = await write(
            client,
            bindSql(STORE_KEY, { ...keyValues(request.actor, request.idempotency, 200, JSON.stringify(view)), order_id: before.id }),
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
        bindSql(WRITE_TRANSITION, {
          ...orderValues(after, WRITTEN_COLUMNS),
          ...eventValues(
            event,
            request.actor,
            keyValues(request.actor, request.idempotency, 200, json),
            request.traceparent,
            auditOf(request, decision),
          ),
          read_version: before.orderVersion,
          hashes: hashes.map(([hash]) => hash),
          hash_kinds: hashes.map(([, kind]) => kind),
        }),
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
