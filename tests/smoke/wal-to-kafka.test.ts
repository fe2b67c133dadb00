import { randomUUID } from 'node:crypto';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, inTransaction, type Pool } from '@settle/db';
import { createKafka } from '@settle/kafka';
import { createTestDatabase, createTestTopics, testStack, type TestDatabase } from '@settle/testkit';

interface OutboxRow {
  id: string;
  aggregateid: string;
  payload: unknown;
}

/**
 * Foundation smoke test: outbox inserts travel WAL (pgoutput) → kafkajs producer → Kafka → kafkajs consumer
 * on the real stack. The production relay (apps/relay) adds watermarks, heartbeats and fail-over on top.
 */
describe('outbox rows through the WAL to Kafka', () => {
  let db: TestDatabase;
  let pool: Pool;
  let topic: string;
  const slot = `smoke_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

  beforeAll(async () => {
    db = await createTestDatabase('smoke');
    pool = createPool(db.url);
    await pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    ({ events: topic = '' } = await createTestTopics('smoke', [{ name: 'events', numPartitions: 3 }]));
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  async function insertOutbox(client: pg.PoolClient, aggregateid: string, sequence: number): Promise<OutboxRow> {
    const row = { id: randomUUID(), aggregateid, payload: { orderId: aggregateid, sequence } };
    await client.query(
      `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, order_version) VALUES ($1, 'order', $2, 'order.created', $3, $4)`,
      [row.id, row.aggregateid, JSON.stringify(row.payload), sequence],
    );
    return row;
  }

  /**
   * Reads the slot until `count` inserts committed (or `until` holds), then stops; acknowledges only on commit.
   * The slot is at-least-once: an acknowledgement still in flight at stop means the next read starts earlier.
   */
  async function readCommittedInserts(
    count: number,
    until: (rows: OutboxRow[]) => boolean = (rows) => rows.length >= count,
  ): Promise<OutboxRow[]> {
    const received: OutboxRow[] = [];
    const service = new LogicalReplicationService({ connectionString: db.url }, { acknowledge: { auto: false, timeoutSeconds: 0 } });
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['settle_outbox_pub'] });
    const pending: OutboxRow[] = [];
    const done = new Promise<void>((resolve, reject) => {
      service.on('error', reject);
      service.on('data', async (lsn: string, message: Pgoutput.Message) => {
        if (message.tag === 'insert') {
          const row = message.new as { id: string; aggregateid: string; payload: unknown };
          pending.push({ id: row.id, aggregateid: row.aggregateid, payload: row.payload });
        } else if (message.tag === 'commit') {
          received.push(...pending.splice(0));
          await service.acknowledge(lsn);
          if (until(received)) resolve();
        }
      });
    });
    void service.subscribe(plugin, slot).catch(() => undefined);
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`only ${received.length}/${count} rows arrived`)), 20_000),
    );
    try {
      await Promise.race([done, timeout]);
    } finally {
      await service.stop();
    }
    return received;
  }

  it('delivers committed outbox rows to Kafka with their ids, keys, payloads and per-key order', async () => {
    const orders = [randomUUID(), randomUUID(), randomUUID()];
    const written: OutboxRow[] = [];
    for (let sequence = 1; sequence <= 4; sequence += 1) {
      const batch = await inTransaction(pool, async (client) => {
        const rows: OutboxRow[] = [];
        for (const order of orders) rows.push(await insertOutbox(client, order, sequence));
        return rows;
      });
      written.push(...batch);
    }

    const fromWal = await readCommittedInserts(written.length);
    expect(fromWal.map((row) => row.id)).toEqual(written.map((row) => row.id));

    const kafka = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'smoke' });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: fromWal.map((row) => ({ key: row.aggregateid, value: JSON.stringify(row.payload), headers: { id: row.id } })),
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const consumed: Array<{ id: string; key: string; payload: unknown }> = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed only ${consumed.length}`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          consumed.push({
            id: String(message.headers?.['id']),
            key: String(message.key),
            payload: JSON.parse(String(message.value)),
          });
          if (consumed.length === written.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();

    expect(new Set(consumed.map((message) => message.id))).toEqual(new Set(written.map((row) => row.id)));
    for (const message of consumed) {
      const original = written.find((row) => row.id === message.id);
      expect(message.key).toBe(original?.aggregateid);
      expect(message.payload).toEqual(original?.payload);
    }
    for (const order of orders) {
      const sequences = consumed
        .filter((message) => message.key === order)
        .map((message) => (message.payload as { sequence: number }).sequence);
      expect(sequences).toEqual([1, 2, 3, 4]);
    }
  });

  it('never emits rows of a rolled-back transaction', async () => {
    const order = randomUUID();
    await expect(
      inTransaction(pool, async (client) => {
        await insertOutbox(client, order, 1);
        throw new Error('abort on purpose');
      }),
    ).rejects.toThrow('abort on purpose');
    const committed = await inTransaction(pool, (client) => insertOutbox(client, randomUUID(), 1));

    // Rows of the first test may come again (their acknowledgement can still be in flight when it stops); the
    // rolled-back row must never come, and the committed one after it must.
    const fromWal = await readCommittedInserts(1, (rows) => rows.some((row) => row.id === committed.id));
    expect(fromWal.filter((row) => row.id === committed.id)).toHaveLength(1);
    expect(fromWal.some((row) => row.aggregateid === order)).toBe(false);
  });
});
