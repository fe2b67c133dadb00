/**
 * What bench:relay writes into an outbox: backlogs of `backlog` rows (many rows per transaction, written while no
 * relay runs) and a steady stream of `order` rows (one per transaction at a fixed rate, each commit timed). Every
 * row's payload carries `seq`, unique within the run, so a consumer can find the row's commit time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from '@settle/db';

/** A realistic order event's size (~400 bytes of JSON); `$1` rows from seq `$2 + 1` on. */
const INSERT_ROWS = `
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, order_version)
SELECT gen_random_uuid(), $3::text, 'order-' || (($2::bigint + n) % 1000), 'order.updated',
       jsonb_build_object('orderId', 'order-' || (($2::bigint + n) % 1000), 'seq', $2::bigint + n, 'status', 'PAID',
                          'amount', '1234.50', 'currency', 'EUR', 'asset', 'USDT', 'cryptoAmount', '1337.000000',
                          'buyer', md5(n::text), 'seller', md5((n + 1)::text), 'paymentReference', md5((n + 2)::text),
                          'note', repeat('x', 120)),
       (($2::bigint + n) % 1000000)::int
  FROM generate_series(1, $1::int) AS n`;

/** Rows per transaction of a backlog. */
const BACKLOG_ROWS_PER_TRANSACTION = 100;

/** Commits `count` rows of aggregatetype `backlog` (seq from `firstSeq`), from four writers. */
export async function writeBacklog(pool: Pool, count: number, firstSeq: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const offset = next;
        next += BACKLOG_ROWS_PER_TRANSACTION;
        await pool.query(INSERT_ROWS, [Math.min(BACKLOG_ROWS_PER_TRANSACTION, count - offset), firstSeq + offset - 1, 'backlog']);
      }
    }),
  );
}

/**
 * Commits single-row `order` transactions at `perSecond` for `seconds` from paced writers (a slow database makes them
 * fall behind rather than pile up connections), with seq from `firstSeq`; `committed(seq, at)` hears each commit's
 * time (when Postgres answered). Returns how many were committed.
 */
export async function steadyLoad(
  pool: Pool,
  options: { perSecond: number; seconds: number; firstSeq: number },
  committed: (seq: number, atMs: number) => void,
): Promise<number> {
  const writers = 8;
  const began = Date.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let index = 0; ; index += 1) {
        const slot = index * writers + writer;
        const due = began + (slot * 1000) / options.perSecond;
        if (due - began >= options.seconds * 1000) return;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        const seq = options.firstSeq + slot;
        await pool.query(INSERT_ROWS, [1, seq - 1, 'order']);
        committed(seq, Date.now());
        sent += 1;
      }
    }),
  );
  return sent;
}

/** The `seq` of a message value: the payload's JSON (or that JSON as a JSON string, as some converters write it). */
export function seqOf(value: Buffer | null): number | undefined {
  if (value === null) return undefined;
  let parsed: unknown = JSON.parse(value.toString('utf8'));
  if (typeof parsed === 'string') parsed = JSON.parse(parsed);
  const seq = (parsed as { seq?: unknown } | null)?.seq;
  return typeof seq === 'number' ? seq : undefined;
}
