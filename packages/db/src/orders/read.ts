import {
  canSee,
  isParty,
  partiesOf,
  SettleError,
  toBookSummary,
  toView,
  type Actor,
  type BookSummary,
  type Order,
  type OrderEvent,
  type OrderView,
  type Status,
} from '@settle/domain';
import type { Queryable } from '../pool';
import { orderFromRow, type OrderRow } from './rows';
import { profileWallets } from './write';

const notFound = (id: string): SettleError => new SettleError('NOT_FOUND', `order ${id} was not found`);

/** Whether `actor` may read the whole order (parties, wallets, payment details): its parties, compliance, the system. */
const readsWhole = (order: Order, actor: Actor): boolean => actor.role === 'compliance' || actor.role === 'system' || isParty(order, actor);

async function readOrder(db: Queryable, id: string, actor: Actor): Promise<Order> {
  const result = await db.query<OrderRow>(`SELECT * FROM orders WHERE id = $1`, [id]);
  const row = result.rows[0];
  if (row === undefined) throw notFound(id);
  const order = orderFromRow(row);
  if (!canSee(order, actor)) throw notFound(id);
  return order;
}

/**
 * One order as `actor` may see it: the whole order for its parties and compliance, the public book summary for
 * another merchant while a book order is open; 404 when it does not exist or is not theirs to see.
 */
export async function getOrder(
  db: Queryable,
  id: string,
  actor: Actor,
): Promise<{ kind: 'whole'; order: OrderView } | { kind: 'summary'; order: BookSummary }> {
  const order = await readOrder(db, id, actor);
  if (!readsWhole(order, actor)) return { kind: 'summary', order: toBookSummary(order) };
  return { kind: 'whole', order: toView(order, (await profileWallets(db, partiesOf(order)))(order.network)) };
}

export interface ListOrdersFilter {
  /** Any of these statuses. @default all */
  status?: readonly Status[] | undefined;
  role?: 'buyer' | 'seller' | undefined;
  /** created: newest first; deadline: the nearest timer_at first, orders without one last. @default created */
  sort?: 'created' | 'deadline' | undefined;
  /** Created at or after this instant. */
  from?: string | undefined;
  /** Created before this instant. */
  to?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** Where a page ended: the last row's sort key and id. */
type Cursor = { sort: 'created'; createdAt: string; id: string } | { sort: 'deadline'; timerAt: string | null; id: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Exactly what encodeCursor writes: an ISO-8601 UTC time with milliseconds, years 0001–9999 (Postgres has no year 0). */
const CURSOR_TIME = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Whether `time` is a real instant written as toISOString writes it: JS rolls Feb 30 or 24:00 over, Postgres need not agree. */
const isCanonicalTime = (time: unknown): time is string =>
  typeof time === 'string' && CURSOR_TIME.test(time) && !Number.isNaN(Date.parse(time)) && new Date(time).toISOString() === time;

function decodeCursor(cursor: string, sort: Cursor['sort']): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    const id = parsed['id'];
    if (typeof id === 'string' && UUID.test(id)) {
      // A cursor without `sort` is a page of the newest-first list (the only sort there was).
      if (sort === 'created' && parsed['sort'] === undefined && isCanonicalTime(parsed['createdAt']))
        return { sort, createdAt: parsed['createdAt'], id };
      const timerAt = parsed['timerAt'];
      if (sort === 'deadline' && parsed['sort'] === 'deadline' && (timerAt === null || isCanonicalTime(timerAt)))
        return { sort, timerAt, id };
    }
  } catch {
    // fall through to the error below
  }
  throw new SettleError(
    'INVALID_INPUT',
    'cursor is not one this API issued for this sort: pass nextCursor from the previous page unchanged, with the same sort',
  );
}

const encodeCursor = (cursor: Cursor): string =>
  Buffer.from(JSON.stringify(cursor.sort === 'created' ? { createdAt: cursor.createdAt, id: cursor.id } : cursor)).toString('base64url');

/** The orders `actor` is a party of (all, for compliance), newest first or nearest deadline first, keyset-paginated. */
export async function listOrders(
  db: Queryable,
  actor: Actor,
  filter: ListOrdersFilter,
): Promise<{ items: OrderView[]; nextCursor: string | null }> {
  const sort = filter.sort ?? 'created';
  const conditions: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (actor.role === 'user') conditions.push(`user_id = ${param(actor.id)}`);
  else if (actor.role === 'merchant') {
    const id = param(actor.id);
    conditions.push(`(merchant_id = ${id} OR buyer_merchant_id = ${id})`);
  } else if (actor.role !== 'compliance' && actor.role !== 'system') return { items: [], nextCursor: null };
  if (filter.status !== undefined) conditions.push(`status = ANY(${param([...new Set(filter.status)])}::text[])`);
  if (filter.role !== undefined && (actor.role === 'user' || actor.role === 'merchant')) {
    conditions.push(`${filter.role}_kind = ${param(actor.role)} AND ${filter.role}_id = ${param(actor.id)}`);
  }
  if (filter.from !== undefined) conditions.push(`created_at >= ${param(filter.from)}::timestamptz`);
  if (filter.to !== undefined) conditions.push(`created_at < ${param(filter.to)}::timestamptz`);
  if (filter.cursor !== undefined) {
    const cursor = decodeCursor(filter.cursor, sort);
    if (cursor.sort === 'created')
      conditions.push(`(created_at, id) < (${param(cursor.createdAt)}::timestamptz, ${param(cursor.id)}::uuid)`);
    else if (cursor.timerAt === null) conditions.push(`(timer_at IS NULL AND id > ${param(cursor.id)}::uuid)`);
    else {
      const at = param(cursor.timerAt);
      conditions.push(`(timer_at IS NULL OR (timer_at, id) > (${at}::timestamptz, ${param(cursor.id)}::uuid))`);
    }
  }
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  const order = sort === 'created' ? 'created_at DESC, id DESC' : 'timer_at ASC NULLS LAST, id ASC';
  const result = await db.query(`SELECT * FROM orders ${where} ORDER BY ${order} LIMIT ${param(filter.limit + 1)}`, params);
  const orders = result.rows.slice(0, filter.limit).map(orderFromRow);
  const wallets = await profileWallets(db, orders.flatMap(partiesOf));
  const last = orders.at(-1);
  const next = (order: Order): Cursor =>
    sort === 'created' ? { sort, createdAt: order.createdAt, id: order.id } : { sort, timerAt: order.timerAt, id: order.id };
  return {
    items: orders.map((order) => toView(order, wallets(order.network))),
    nextCursor: result.rows.length > filter.limit && last !== undefined ? encodeCursor(next(last)) : null,
  };
}

/** Open book orders a merchant may accept (not its own), as public summaries, oldest first. */
export async function listBook(db: Queryable, merchantId: string, limit = 500): Promise<BookSummary[]> {
  const result = await db.query<OrderRow>(
    `SELECT * FROM orders WHERE book_order AND status = 'open' AND NOT (type = 'm2m' AND merchant_id = $1) ORDER BY created_at, id LIMIT $2`,
    [merchantId, limit],
  );
  return result.rows.map((row) => toBookSummary(orderFromRow(row)));
}

/** The events of an order, in version order: for its parties and compliance only (anyone else: 404). */
export async function listOrderEvents(db: Queryable, id: string, actor: Actor): Promise<OrderEvent[]> {
  const order = await readOrder(db, id, actor);
  if (!readsWhole(order, actor)) throw notFound(id);
  const result = await db.query<{ payload: OrderEvent }>(`SELECT payload FROM order_events WHERE order_id = $1 ORDER BY order_version`, [
    id,
  ]);
  return result.rows.map((row) => row.payload);
}
