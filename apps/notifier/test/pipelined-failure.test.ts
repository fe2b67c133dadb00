import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@settle/db';
import type { OrderEvent } from '@settle/domain';
import { createKafka, deadLetterTopic } from '@settle/kafka';
import { createTestDatabase, orderCreatedEvent, testStack, type TestDatabase } from '@settle/testkit';
import type { RetryInfo } from '../src/consume';
import { startNotifier, type Notifier } from '../src/notifier';
import { connectClient, createTopics, eventProducer, type EventProducer, testConfig, tokenFor, waitFor } from './support';

/** More than a chunk (500): a fetch brings the failing chunk and the one after it together. */
const EVENTS = 1_200;
/** The event whose rows fail to insert until the test lets them: in the first chunk. */
const FAILING = 300;
const MERCHANT = 'm-pipelined';

function createdEvents(count: number): OrderEvent[] {
  const at = new Date().toISOString();
  return Array.from({ length: count }, (_, index) => orderCreatedEvent(`u-pipelined-${index}`, MERCHANT, at));
}

describe('a chunk that fails while the next chunks of its partition are in hand', () => {
  let db: TestDatabase;
  let pool: Pool;
  let topic: string;
  let notifier: Notifier;
  let producer: EventProducer;
  const retries: RetryInfo[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('notifier_pipelined');
    pool = createPool(db.url, { max: 2 });
    // A real fault of the database, for one event only, while the test says so.
    await pool.query(`
      CREATE TABLE failing_events (event_id uuid PRIMARY KEY);
      CREATE FUNCTION fail_listed_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM failing_events WHERE event_id = NEW.event_id) THEN
          RAISE EXCEPTION 'event % cannot be written now', NEW.event_id;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER fail_listed_event BEFORE INSERT ON notification_payloads FOR EACH ROW EXECUTE FUNCTION fail_listed_event();
    `);
    ({ events: topic = '' } = await createTopics('notifier-pipelined', [{ name: 'events', numPartitions: 1 }]));
    producer = await eventProducer();
  });

  afterAll(async () => {
    await notifier?.stop();
    await producer?.disconnect();
    await pool?.end();
    await db?.drop();
  });

  it('writes none of the later chunks before it, retries it from its first offset, and shows every event once, in order', async () => {
    const events = createdEvents(EVENTS);
    await pool.query(`INSERT INTO failing_events VALUES ($1)`, [events[FAILING]?.eventId]);
    for (let start = 0; start < EVENTS; start += 200) await producer.publish(topic, events.slice(start, start + 200));
    notifier = await startNotifier({
      config: testConfig(db.url, topic, { NOTIFIER_RETRY_BASE_MS: '100', NOTIFIER_RETRY_FACTOR: '2', NOTIFIER_RETRY_CAP_MS: '400' }),
      port: 0,
      host: '127.0.0.1',
      onRetry: (info) => retries.push(info),
    });
    const client = await connectClient(notifier.port, await tokenFor('merchant', MERCHANT));
    try {
      await waitFor(() => retries.length >= 3, 'three retries of the failing chunk', 30_000);
      // The chunk after the failing one was fetched with it, yet nothing of the partition was written past it.
      const early = await pool.query<{ count: string }>(`SELECT count(*) FROM notifications WHERE recipient = $1`, [
        `merchant:${MERCHANT}`,
      ]);
      expect(Number(early.rows[0]?.count)).toBe(0);
      expect(new Set(retries.map((info) => info.offset))).toEqual(new Set(['0']));

      await pool.query(`DELETE FROM failing_events`);
      await waitFor(
        () => client.shown.length >= EVENTS,
        () => `all ${EVENTS} events shown (${client.shown.length} so far)`,
        60_000,
      );

      // Seqs follow the partition's order, each event once.
      const rows = await pool.query<{ seq: string; event_id: string }>(
        `SELECT seq, event_id FROM notifications WHERE recipient = $1 ORDER BY seq`,
        [`merchant:${MERCHANT}`],
      );
      expect(rows.rows.map((row) => [Number(row.seq), row.event_id])).toEqual(events.map((event, index) => [index + 1, event.eventId]));
      expect(client.shown.map((shown) => shown.eventId)).toEqual(events.map((event) => event.eventId));

      const kafka = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'pipelined-test' });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const dead = await admin.fetchTopicOffsets(deadLetterTopic(topic));
        expect(dead.reduce((sum, partition) => sum + Number(partition.high), 0)).toBe(0);
      } finally {
        await admin.disconnect();
      }
    } finally {
      client.close();
    }
  }, 120_000);
});
