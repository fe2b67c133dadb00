import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  currentBookSeq,
  enqueueWebhookDeliveries,
  markBookEventsEmitted,
  mirrorDeadLetter,
  recordWebhookAttempt,
  registerWebhookEndpoint,
  resolveDeadLetter,
  storeBookEvents,
} from '@settle/db';
import { createLogger } from '@settle/observability';
import { useTestDatabase, waitFor } from '@settle/testkit';
import { applyRetention, RETENTION_TABLES, startWorker, type RetentionPolicy } from '../src/index';

const database = useTestDatabase('retention', { max: 8 });

const policy: RetentionPolicy = { days: 7, webhookDeliveriesDays: 7, bookEventsDays: 7, deadLettersDays: 7 };
const daysAgo = (days: number): Date => new Date(Date.now() - days * 86_400_000);

let offset = 0;
/** A delivery of a fresh event to `endpointId`, with `attempts` HTTP attempts ending in `outcome`, finished `finishedDaysAgo`. */
async function delivery(
  endpointId: string,
  merchantId: string,
  outcome: 'delivered' | 'dead' | 'pending',
  attempts: number,
  finishedDaysAgo: number,
): Promise<string> {
  const eventId = randomUUID();
  offset += 1;
  await enqueueWebhookDeliveries(database.pool, [
    {
      merchantIds: [merchantId],
      eventId,
      orderId: randomUUID(),
      eventType: 'order.completed',
      payload: { eventId },
      source: {
        topic: 'settle.order.events',
        partition: 0,
        offset: String(offset),
        timestamp: String(Date.now()),
        key: null,
        value: Buffer.from('{}'),
      },
    },
  ]);
  const row = await database.pool.query<{ id: string }>(`SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND event_id = $2`, [
    endpointId,
    eventId,
  ]);
  const id = row.rows[0]?.id;
  if (id === undefined) throw new Error('no delivery enqueued');
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const last = attempt === attempts;
    await recordWebhookAttempt(
      database.pool,
      { id, attempt },
      { startedAt: new Date(), durationMs: 12, statusCode: last && outcome === 'delivered' ? 200 : 503, error: null },
      last && outcome !== 'pending' ? { kind: outcome } : { kind: 'retry', delayMs: 60_000 },
    );
  }
  const at = daysAgo(finishedDaysAgo);
  await database.pool.query(
    `UPDATE webhook_deliveries SET created_at = $2::timestamptz - interval '1 hour',
            delivered_at = CASE WHEN delivered_at IS NOT NULL THEN $2::timestamptz END, dead_at = CASE WHEN dead_at IS NOT NULL THEN $2::timestamptz END
      WHERE id = $1`,
    [id, at],
  );
  return id;
}

let dltOffset = 0;
/** A mirrored dead letter that reached the DLT `daysAgo`. */
async function deadLetter(reachedDaysAgo: number): Promise<number> {
  dltOffset += 1;
  return mirrorDeadLetter(database.pool, {
    dltTopic: 'settle.order.events.dlt',
    dltPartition: 0,
    dltOffset: String(dltOffset),
    dltTimestamp: daysAgo(reachedDaysAgo),
    originalTopic: 'settle.order.events',
    originalPartition: 0,
    originalOffset: String(dltOffset),
    originalTimestamp: String(daysAgo(reachedDaysAgo).getTime()),
    consumerGroup: 'settle-notifier',
    exceptionClass: 'SchemaValidationError',
    exceptionMessage: 'bad event',
    exceptionStacktrace: null,
    attempts: 1,
    eventId: randomUUID(),
    eventType: 'order.created',
    orderId: randomUUID(),
    merchantIds: ['m-ret'],
    channel: 'socket',
    webhookEndpointId: null,
    key: null,
    value: Buffer.from('{}'),
    originalHeaders: {},
    replayCount: 0,
  });
}

/** A dead letter resolved `resolvedDaysAgo` (with its audit rows: one replay before the resolve). */
async function resolvedLetter(resolvedDaysAgo: number): Promise<number> {
  const id = await deadLetter(resolvedDaysAgo + 1);
  await database.pool.query(
    `INSERT INTO dead_letter_audit (dead_letter_id, action, actor, reason) VALUES ($1, 'replay', 'ops:alice', 'first try')`,
    [id],
  );
  await resolveDeadLetter(database.pool, id, 'ops:alice', 'fixed upstream');
  await database.pool.query(`UPDATE dead_letters SET resolved_at = $2 WHERE id = $1`, [id, daysAgo(resolvedDaysAgo)]);
  await database.pool.query(`UPDATE dead_letter_audit SET at = $2 WHERE dead_letter_id = $1`, [id, daysAgo(resolvedDaysAgo)]);
  return id;
}

/** Book events stored and (optionally) emitted, then dated `daysAgo`. */
async function bookEvents(count: number, emitted: boolean, ageDays: number): Promise<Array<{ eventId: string; bookSeq: number }>> {
  const inputs = Array.from({ length: count }, (_, index) => ({
    eventId: randomUUID(),
    orderId: randomUUID(),
    orderVersion: index + 1,
    payload: { onBook: true },
  }));
  const stored = await storeBookEvents(database.pool, inputs);
  if (emitted)
    await markBookEventsEmitted(
      database.pool,
      stored.map((event) => event.eventId),
    );
  await database.pool.query(
    `UPDATE book_events SET created_at = $2::timestamptz, emitted_at = CASE WHEN emitted_at IS NOT NULL THEN $2::timestamptz + interval '1 second' END WHERE event_id = ANY($1::uuid[])`,
    [stored.map((event) => event.eventId), daysAgo(ageDays)],
  );
  return stored.map((event) => ({ eventId: event.eventId, bookSeq: event.bookSeq }));
}

async function deletedByTable(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('settle_worker_retention_deleted_total');
  if (metric === undefined) return {};
  const { values } = await metric.get();
  return Object.fromEntries(values.map((value) => [String(value.labels['table']), value.value]));
}

describe('retention of webhook deliveries, book events and dead letters', () => {
  it('a worker round deletes exactly the old finished rows of each table, in batches, and counts them per table in the metric', async () => {
    const endpoint = await registerWebhookEndpoint(database.pool, { merchantId: 'm-ret', url: 'https://merchant.example/hooks' });
    // Old and finished: deleted with their attempts (2 + 3 + 1 + 1 = 7 attempts).
    const oldDelivered = [
      await delivery(endpoint.id, 'm-ret', 'delivered', 2, 8),
      await delivery(endpoint.id, 'm-ret', 'delivered', 3, 30),
    ];
    const oldDead = [await delivery(endpoint.id, 'm-ret', 'dead', 1, 9), await delivery(endpoint.id, 'm-ret', 'dead', 1, 10)];
    // Kept: pending whatever its age (it is still being retried), and finished within the retention.
    const oldPending = await delivery(endpoint.id, 'm-ret', 'pending', 2, 40);
    const recentDelivered = await delivery(endpoint.id, 'm-ret', 'delivered', 1, 6);
    const recentDead = await delivery(endpoint.id, 'm-ret', 'dead', 4, 1);
    await database.pool.query(`UPDATE webhook_deliveries SET created_at = now() - interval '30 days' WHERE id = $1`, [recentDelivered]);

    const oldEmitted = await bookEvents(5, true, 8);
    const oldUnemitted = await bookEvents(1, false, 20);
    const recentEmitted = await bookEvents(2, true, 2);
    const seqBefore = await currentBookSeq(database.pool);

    const oldResolved = [await resolvedLetter(8), await resolvedLetter(9), await resolvedLetter(15)];
    const recentResolved = await resolvedLetter(2);
    const oldOpen = await deadLetter(30);
    const oldParked = await deadLetter(30);
    await database.pool.query(`UPDATE dead_letters SET status = 'parked' WHERE id = $1`, [oldParked]);

    const registry = new Registry();
    // A batch of 2 rows: every table needs several statements, so a loop that stopped after one batch would leave rows.
    const worker = startWorker({
      pool: database.pool,
      logger: createLogger('worker', 'silent'),
      registry,
      intervalMs: 50,
      batchSize: 200,
      retention: { ...policy, batchSize: 2 },
    });
    let deleted: Record<string, number> = {};
    await waitFor(
      async () => {
        deleted = await deletedByTable(registry);
        return Object.keys(deleted).length >= Object.keys(RETENTION_TABLES).length;
      },
      'a deletion count for every table',
      30_000,
    );
    await worker.stop();

    expect(deleted).toMatchObject({ webhook_deliveries: 4, webhook_attempts: 7, book_events: 5, dead_letters: 3, dead_letter_audit: 6 });
    // The labels that existed before are still there.
    expect(Object.keys(deleted).sort()).toEqual([
      'book_events',
      'dead_letter_audit',
      'dead_letters',
      'idempotency_keys',
      'notifications',
      'outbox',
      'webhook_attempts',
      'webhook_deliveries',
    ]);

    const deliveries = await database.pool.query<{ id: string; attempts: number }>(
      `SELECT d.id, (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id)::int AS attempts FROM webhook_deliveries d ORDER BY d.id`,
    );
    expect(deliveries.rows).toEqual(
      [
        { id: oldPending, attempts: 2 },
        { id: recentDelivered, attempts: 1 },
        { id: recentDead, attempts: 4 },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    const orphanAttempts = await database.pool.query(`SELECT 1 FROM webhook_attempts WHERE delivery_id = ANY($1::uuid[])`, [
      [...oldDelivered, ...oldDead],
    ]);
    expect(orphanAttempts.rowCount).toBe(0);

    const books = await database.pool.query<{ event_id: string }>(`SELECT event_id FROM book_events ORDER BY book_seq`);
    expect(books.rows.map((row) => row.event_id)).toEqual([...oldUnemitted, ...recentEmitted].map((event) => event.eventId));
    expect(oldEmitted).toHaveLength(5);

    const letters = await database.pool.query<{ id: string; status: string }>(`SELECT id, status FROM dead_letters ORDER BY id`);
    expect(letters.rows).toEqual([
      { id: String(recentResolved), status: 'resolved' },
      { id: String(oldOpen), status: 'open' },
      { id: String(oldParked), status: 'parked' },
    ]);
    const audit = await database.pool.query<{ dead_letter_id: string }>(`SELECT DISTINCT dead_letter_id FROM dead_letter_audit`);
    expect(audit.rows).toEqual([{ dead_letter_id: String(recentResolved) }]);
    expect(oldResolved).toHaveLength(3);

    // The book sequence goes on where it stood: no seq is handed out twice, a kept event keeps its seq.
    expect(await currentBookSeq(database.pool)).toBe(seqBefore);
    const [next] = await bookEvents(1, false, 0);
    expect(next?.bookSeq).toBe(seqBefore + 1);
    const again = await storeBookEvents(database.pool, [
      { eventId: recentEmitted[0]?.eventId ?? '', orderId: randomUUID(), orderVersion: 1, payload: {} },
    ]);
    expect(again[0]).toMatchObject({ bookSeq: recentEmitted[0]?.bookSeq, fresh: false, emitted: true });

    // A second round finds nothing more to delete.
    const second = await applyRetention(database.pool, policy);
    expect(second).toMatchObject({ webhookDeliveries: 0, webhookAttempts: 0, bookEvents: 0, deadLetters: 0, deadLetterAudit: 0 });
  });

  it('each table follows its own retention: a longer one keeps rows a shorter one deletes', async () => {
    const endpoint = await registerWebhookEndpoint(database.pool, { merchantId: 'm-ret2', url: 'https://merchant.example/hooks2' });
    const delivered = await delivery(endpoint.id, 'm-ret2', 'delivered', 1, 10);
    const [book] = await bookEvents(1, true, 10);
    const letter = await resolvedLetter(10);

    const keep = await applyRetention(database.pool, { days: 7, webhookDeliveriesDays: 30, bookEventsDays: 30, deadLettersDays: 30 });
    expect(keep).toMatchObject({ webhookDeliveries: 0, bookEvents: 0, deadLetters: 0 });
    const drop = await applyRetention(database.pool, { days: 30, webhookDeliveriesDays: 9, bookEventsDays: 9, deadLettersDays: 9 });
    expect(drop).toMatchObject({ webhookDeliveries: 1, webhookAttempts: 1, bookEvents: 1, deadLetters: 1, deadLetterAudit: 2 });
    expect((await database.pool.query(`SELECT 1 FROM webhook_deliveries WHERE id = $1`, [delivered])).rowCount).toBe(0);
    expect((await database.pool.query(`SELECT 1 FROM book_events WHERE event_id = $1`, [book?.eventId])).rowCount).toBe(0);
    expect((await database.pool.query(`SELECT 1 FROM dead_letters WHERE id = $1`, [letter])).rowCount).toBe(0);
  });
});
