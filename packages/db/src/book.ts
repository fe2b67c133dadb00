import type { Queryable } from './pool';

export interface BookEventInput {
  eventId: string;
  orderId: string;
  orderVersion: number;
  /** The `book` socket payload without bookSeq. */
  payload: Record<string, unknown>;
}

export interface StoredBookEvent {
  eventId: string;
  bookSeq: number;
  payload: Record<string, unknown>;
  fresh: boolean;
  emitted: boolean;
}

/**
 * Gives each new book event the next book-wide seq (gap-free: one counter row locked in this transaction) and
 * records it once; a redelivered event gets its stored seq back. One row per event, never per merchant.
 */
export async function storeBookEvents(client: Queryable, inputs: BookEventInput[]): Promise<StoredBookEvent[]> {
  const items = [...new Map(inputs.map((input) => [input.eventId, input])).values()];
  if (items.length === 0) return [];
  const counter = await client.query<{ last_seq: string }>(`SELECT last_seq FROM book_sequence WHERE id FOR UPDATE`);
  let last = Number(counter.rows[0]?.last_seq ?? 0);
  const existing = await client.query<{ event_id: string; book_seq: string; payload: Record<string, unknown>; emitted: boolean }>(
    `SELECT event_id, book_seq, payload, emitted_at IS NOT NULL AS emitted FROM book_events WHERE event_id = ANY($1::uuid[])`,
    [items.map((item) => item.eventId)],
  );
  const found = new Map(existing.rows.map((row) => [row.event_id, row]));
  const stored: StoredBookEvent[] = [];
  const fresh: Array<StoredBookEvent & { input: BookEventInput }> = [];
  for (const item of items) {
    const row = found.get(item.eventId);
    if (row !== undefined) {
      stored.push({ eventId: row.event_id, bookSeq: Number(row.book_seq), payload: row.payload, fresh: false, emitted: row.emitted });
      continue;
    }
    last += 1;
    const entry = { eventId: item.eventId, bookSeq: last, payload: item.payload, fresh: true, emitted: false, input: item };
    fresh.push(entry);
    stored.push(entry);
  }
  if (fresh.length > 0) {
    await client.query(
      `INSERT INTO book_events (event_id, book_seq, order_id, order_version, payload)
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::int[], $5::jsonb[])`,
      [
        fresh.map((entry) => entry.eventId),
        fresh.map((entry) => entry.bookSeq),
        fresh.map((entry) => entry.input.orderId),
        fresh.map((entry) => entry.input.orderVersion),
        fresh.map((entry) => JSON.stringify(entry.payload)),
      ],
    );
    await client.query(`UPDATE book_sequence SET last_seq = $1 WHERE id`, [last]);
  }
  return stored.map(({ eventId, bookSeq, payload, fresh: isFresh, emitted }) => ({ eventId, bookSeq, payload, fresh: isFresh, emitted }));
}

/** Records that these book events were emitted (a redelivery will not emit them again). */
export async function markBookEventsEmitted(db: Queryable, eventIds: string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await db.query(`UPDATE book_events SET emitted_at = now() WHERE event_id = ANY($1::uuid[]) AND emitted_at IS NULL`, [eventIds]);
}

/**
 * The bookSeq the order book is current to: `GET /v1/orders/book` answers it with its snapshot. Read it in the
 * same transaction as the snapshot; deltas with a higher bookSeq may already be in the snapshot and are applied
 * idempotently by orderVersion.
 */
export async function currentBookSeq(db: Queryable): Promise<number> {
  const result = await db.query<{ last_seq: string }>(`SELECT last_seq FROM book_sequence WHERE id`);
  return Number(result.rows[0]?.last_seq ?? 0);
}
