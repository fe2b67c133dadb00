import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRepublishEvents, type RepublishEvent } from '@settle/db';
import type { Actor } from '@settle/domain';
import { createKafka, eventHeaders, headersAsText } from '@settle/kafka';
import { createTestTopics, testStack, uniqueSuffix, walkSellOrder, type SellOrderStage, useTestDatabase, waitFor } from '@settle/testkit';
import {
  createOrderEventConsumer,
  migrateInbox,
  PermanentError,
  type EventHandler,
  type OrderEventConsumer,
  type TypedOrderEvent,
} from '../src/index';

const database = useTestDatabase('kit', { max: 8 });
let kafka: Kafka;
let producer: Producer;

const STAGES: SellOrderStage[] = ['open', 'accepted', 'escrowed', 'payment_sent', 'completed'];

/** Orders written through the real write path, each with `steps` events; returns their events, each order's in version order. */
async function writeOrders(count: number, steps = 4): Promise<RepublishEvent[]> {
  const events: RepublishEvent[] = [];
  for (let index = 0; index < count; index += 1) {
    const n = uniqueSuffix();
    const user: Actor = { role: 'user', id: `u-${n}` };
    const merchant: Actor = { role: 'merchant', id: `m-${n}` };
    const [created] = await walkSellOrder(database.pool, { user, merchant, label: `kit-${n}`, until: STAGES[steps - 1] });
    events.push(...(await nextRepublishEvents(database.pool, { since: new Date(0), orderId: created!.id }, null, steps + 1)));
  }
  return events;
}

function toMessage(event: RepublishEvent) {
  const payload = JSON.parse(event.payload) as { orderNumber: string };
  const headers = eventHeaders({
    id: event.id,
    aggregatetype: 'order',
    aggregateid: event.orderId,
    type: event.type,
    createdAt: event.occurredAt,
    orderVersion: event.orderVersion,
    commitLsn: null,
    extra: { orderNumber: payload.orderNumber, actorRole: event.actorRole },
  });
  return { key: event.orderId, value: event.payload, headers };
}

async function topicPair(partitions = 1): Promise<{ topic: string; dlt: string }> {
  const names = await createTestTopics('kit', [
    { name: 'events', numPartitions: partitions },
    { name: 'dlt', numPartitions: 1 },
  ]);
  return { topic: names['events']!, dlt: names['dlt']! };
}

async function readAll(topic: string, expected: number) {
  const consumer = kafka.consumer({ groupId: `kit-read-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const seen: { key: string; value: string; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) =>
      void seen.push({ key: String(message.key), value: String(message.value), headers: headersAsText(message.headers) }),
  });
  try {
    await waitFor(() => seen.length >= expected, `${expected} messages on ${topic}`, 30_000);
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

/** A handler that records what it got, writing one row per event in the kit's transaction. */
function recorder(fail?: (event: TypedOrderEvent, attempt: number) => Error | undefined): {
  handler: EventHandler;
  handled: string[];
  attempts: Map<string, number>;
} {
  const handled: string[] = [];
  const attempts = new Map<string, number>();
  return {
    handled,
    attempts,
    handler: async (event, context) => {
      const name = `${event.orderId}@${event.orderVersion}`;
      attempts.set(name, context.attempt);
      await context.client.query('INSERT INTO kit_effects (order_id, order_version) VALUES ($1, $2)', [event.orderId, event.orderVersion]);
      const error = fail?.(event, context.attempt);
      if (error !== undefined) throw error;
      handled.push(name);
    },
  };
}

const consumers: OrderEventConsumer[] = [];
function start(options: Omit<Parameters<typeof createOrderEventConsumer>[0], 'kafka' | 'pool'>): Promise<OrderEventConsumer> {
  const consumer = createOrderEventConsumer({ kafka, pool: database.pool, retry: { baseMs: 50, capMs: 200 }, ...options });
  consumers.push(consumer);
  return consumer.start().then(() => consumer);
}

beforeAll(async () => {
  await migrateInbox(database.pool);
  await migrateInbox(database.pool); // idempotent: a caller may run it on every start
  await database.pool.query('CREATE TABLE kit_effects (order_id uuid, order_version integer)');
  kafka = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'kit-test' });
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});

afterAll(async () => {
  for (const consumer of consumers) await consumer.stop().catch(() => undefined);
  await producer?.disconnect();
});

const effects = async (orderIds: string[]) =>
  Number(
    (await database.pool.query<{ n: string }>('SELECT count(*) AS n FROM kit_effects WHERE order_id = ANY($1::uuid[])', [orderIds])).rows[0]
      ?.n,
  );

describe('@settle/consumer on a real topic and database', () => {
  it('hands each event to the handler once, in per-order order, also when the topic is re-consumed from the start', async () => {
    const { topic, dlt } = await topicPair(3);
    const rows = await writeOrders(4);
    await producer.send({ topic, messages: rows.map(toMessage) });
    await producer.send({ topic, messages: rows.slice(0, 5).map(toMessage) }); // at-least-once: a re-sent tail
    const groupId = `kit-${uniqueSuffix()}`;
    const first = recorder();
    const consumer = await start({ groupId, topic, deadLetterTopic: dlt, handler: first.handler });
    await waitFor(() => first.handled.length >= rows.length, 'every event handled', 30_000);
    await waitFor(
      async () => (await consumer.registry.getSingleMetricAsString('settle_consumer_duplicate_events_total')).includes(' 5'),
      'the re-sent tail dropped',
      30_000,
    );
    await consumer.stop();
    for (const orderId of new Set(rows.map((row) => row.orderId))) {
      expect(first.handled.filter((name) => name.startsWith(orderId))).toEqual([1, 2, 3, 4].map((version) => `${orderId}@${version}`));
    }

    const admin = kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId, topic, earliest: true });
    await admin.disconnect();
    const again = recorder();
    const second = await start({ groupId, topic, deadLetterTopic: dlt, handler: again.handler });
    await waitFor(
      async () => (await second.registry.getSingleMetricAsString('settle_consumer_duplicate_events_total')).includes(` ${rows.length + 5}`),
      'the whole topic re-read',
      30_000,
    );
    expect(again.handled).toEqual([]);
    expect(await effects(rows.map((row) => row.orderId))).toBe(rows.length);
    // The lag gauge is set just after the handler returns: the last message's duplicate count can come first. Four
    // random keys need not land in every one of the 3 partitions: each partition that got messages reports its lag.
    const lags = async (): Promise<number[]> =>
      [...(await second.registry.getSingleMetricAsString('settle_consumer_lag_messages')).matchAll(/partition="\d+"} (\d+)/g)].map(
        (match) => Number(match[1]),
      );
    await waitFor(
      async () => {
        const values = await lags();
        return values.length > 0 && values.every((value) => value === 0);
      },
      'lag 0 reported on every partition read',
      30_000,
    );
    expect((await lags()).length).toBeGreaterThan(0);
  });

  it("retries a transient handler error with backoff while the partition's later messages wait", async () => {
    const { topic, dlt } = await topicPair(1);
    const rows = await writeOrders(2, 3);
    const failing = `${rows[0]!.orderId}@2`;
    const run = recorder((event, attempt) =>
      `${event.orderId}@${event.orderVersion}` === failing && attempt < 3 ? new Error('database timeout') : undefined,
    );
    await producer.send({ topic, messages: rows.map(toMessage) });
    const consumer = await start({ groupId: `kit-${uniqueSuffix()}`, topic, deadLetterTopic: dlt, handler: run.handler });
    await waitFor(() => run.handled.length >= rows.length, 'every event handled', 30_000);
    expect(run.attempts.get(failing)).toBe(3);
    // One partition: nothing after the failing message was handled before it succeeded.
    expect(run.handled).toEqual(rows.map((row) => `${row.orderId}@${row.orderVersion}`));
    expect(await effects(rows.map((row) => row.orderId))).toBe(rows.length); // the failed attempts' writes rolled back
    expect(await consumer.registry.getSingleMetricAsString('settle_consumer_retries_total')).toMatch(/} 2$/m);
  });

  it("sends an invalid message to the DLT with the standard headers and goes on; the order's later events wait until resolved", async () => {
    const { topic, dlt } = await topicPair(1);
    const [broken, other] = [await writeOrders(1, 3), await writeOrders(1, 2)];
    const blockedOrder = broken[0]!.orderId;
    const invalid = { ...toMessage(broken[1]!), value: JSON.stringify({ ...JSON.parse(broken[1]!.payload), orderVersion: 'two' }) };
    await producer.send({ topic, messages: [toMessage(broken[0]!), invalid, toMessage(broken[2]!), ...other.map(toMessage)] });
    const run = recorder();
    const consumer = await start({ groupId: `kit-${uniqueSuffix()}`, topic, deadLetterTopic: dlt, handler: run.handler });
    await waitFor(() => run.handled.length >= 1 + other.length, 'the other order handled', 30_000);
    const [dead] = await readAll(dlt, 1);
    expect(dead?.key).toBe(blockedOrder);
    expect(dead?.value).toBe(invalid.value);
    expect(dead?.headers).toMatchObject({
      'dlt-original-topic': topic,
      'dlt-original-partition': '0',
      'dlt-original-offset': '1',
      'dlt-exception-class': 'InvalidEventError',
      'dlt-attempts': '1',
      ce_type: 'settle.order.accepted.v1',
    });
    expect(dead?.headers['dlt-exception-message']).toMatch(/orderVersion/);
    expect(run.handled).toEqual([`${blockedOrder}@1`, ...other.map((row) => `${row.orderId}@${row.orderVersion}`)]);
    expect((await consumer.blocked()).map((entry) => entry.orderId)).toEqual([blockedOrder]);
    expect(await consumer.registry.getSingleMetricAsString('settle_consumer_failed_events_total')).toContain('reason="invalid"} 1');

    expect(await consumer.resolve(blockedOrder, 'skip')).toEqual({ handled: 1 });
    expect(run.handled.at(-1)).toBe(`${blockedOrder}@3`);
    expect(await consumer.blocked()).toEqual([]);
  });

  it('dead-letters a permanently failing event and, resolved with retry, hands it over before the events it held', async () => {
    const { topic, dlt } = await topicPair(1);
    const rows = await writeOrders(1, 4);
    const orderId = rows[0]!.orderId;
    let broken = true;
    const run = recorder((event) =>
      broken && event.orderVersion === 2 ? new PermanentError('merchant unknown to the ledger') : undefined,
    );
    await producer.send({ topic, messages: rows.map(toMessage) });
    const consumer = await start({ groupId: `kit-${uniqueSuffix()}`, topic, deadLetterTopic: dlt, handler: run.handler });
    const [dead] = await readAll(dlt, 1);
    expect(dead?.headers).toMatchObject({
      'dlt-exception-class': 'PermanentError',
      'dlt-exception-message': 'merchant unknown to the ledger',
      'dlt-event-id': rows[1]!.id,
    });
    await waitFor(
      async () => (await consumer.registry.getSingleMetricAsString('settle_consumer_held_events_total')).includes(' 2'),
      'versions 3 and 4 held',
      30_000,
    );
    expect(run.handled).toEqual([`${orderId}@1`]);

    broken = false;
    expect(await consumer.resolve(orderId, 'retry')).toEqual({ handled: 3 });
    expect(run.handled).toEqual([1, 2, 3, 4].map((version) => `${orderId}@${version}`));
    await producer.send({ topic, messages: rows.map(toMessage) });
    await waitFor(
      async () => (await consumer.registry.getSingleMetricAsString('settle_consumer_duplicate_events_total')).includes(' 4'),
      'the redelivered events dropped',
      30_000,
    );
    expect(await effects([orderId])).toBe(4);
  });
});
