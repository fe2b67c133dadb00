import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { signToken } from '@settle/auth';
import { loadConfig, type Config } from '@settle/config';
import { connectNotifier, type NotificationPayload, type NotifierClient, type NotifierClientOptions } from '@settle/contracts';
import { applyTransitionWith, createOrderRecord, createPool, upsertAccount, type Pool, type PoolClient, type Queryable } from '@settle/db';
import type { Actor, Command, CreateOrderInput, OrderEvent, OrderView } from '@settle/domain';
import { createKafka } from '@settle/kafka';
import { createTestDatabase, createTestTopics, testAddress, testStack, testTxHash, type TestDatabase } from '@settle/testkit';
import type { Producer } from 'kafkajs';
import { startNotifier, type Notifier } from '../src/notifier';

export const JWT_SECRET = 'test-secret-of-the-notifier-tests';

/** A config for a notifier under test: its own database, topic and consumer group, a free port, quiet logs. */
export function testConfig(databaseUrl: string, topic: string, extra: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
    ORDER_EVENTS_TOPIC: topic,
    ORDER_EVENTS_PARTITIONS: '3',
    NOTIFIER_GROUP_ID: `settle-notifier-${randomBytes(4).toString('hex')}`,
    JWT_SECRET,
    // Test receivers listen on loopback, which webhook URLs may not reach unless allow-listed.
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    NOTIFIER_RETRY_BASE_MS: '50',
    NOTIFIER_RETRY_CAP_MS: '2000',
    ...extra,
  });
}

export function tokenFor(role: 'user' | 'merchant' | 'compliance', id: string, ttlSeconds = 3600): Promise<string> {
  return signToken({ JWT_SECRET, JWT_ISSUER: undefined }, { role, id }, ttlSeconds);
}

/** A connected test client (the contracts helper) that records what it was shown. */
export interface TestClient extends NotifierClient {
  shown: NotificationPayload[];
  raw: NotificationPayload[];
  synced: number;
}

export async function connectClient(port: number, token: string, options: Partial<NotifierClientOptions> = {}): Promise<TestClient> {
  const shown: NotificationPayload[] = [];
  const raw: NotificationPayload[] = [];
  let synced = 0;
  const client = connectNotifier({
    url: `http://127.0.0.1:${port}`,
    token,
    onNotification: (payload) => shown.push(payload),
    onSynced: () => {
      synced += 1;
    },
    socketOptions: { reconnection: false, forceNew: true },
    ...options,
  });
  client.socket.on('notification', (payload) => raw.push(payload));
  const result: TestClient = Object.assign(client, { shown, raw, synced: 0 });
  Object.defineProperty(result, 'synced', { get: () => synced });
  await new Promise<void>((resolve, reject) => {
    client.socket.once('connect_error', reject);
    client.socket.once('synced', () => resolve());
  });
  return result;
}

export { sleep, waitFor } from '@settle/testkit';

let hashCounter = 0;
export const txHash = (): string => testTxHash(`notifier-test-${randomUUID()}-${(hashCounter += 1)}`);

/**
 * An order's life written through the one write path (createOrderRecord, then applyTransitionWith as each party
 * acts), on a pool or on a client inside a transaction the test holds open. `events` are the events the write path
 * stored, in order: the tests publish them to Kafka themselves, standing in for the relay.
 */
export class OrderStory {
  private constructor(
    public order: OrderView,
    readonly events: OrderEvent[],
  ) {}

  /** Creates the order; the creator's and the addressed merchant's accounts are made (with a profile wallet) when missing. */
  static async create(
    db: Pool | PoolClient,
    input: Partial<CreateOrderInput> & Pick<CreateOrderInput, 'type'>,
    creator: Actor,
  ): Promise<OrderStory> {
    if (creator.role === 'user' || creator.role === 'merchant') await ensureAccount(db, creator.role, creator.id);
    if (input.merchantId !== undefined) await ensureAccount(db, 'merchant', input.merchantId);
    const created = await createOrderRecord(
      db,
      {
        cryptoAmount: '100.00',
        cryptoCurrency: 'USDT',
        fiatAmount: '367.25',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'bank_transfer',
        ...(input.type === 'buy' ? { buyerWalletAddress: testAddress('notifier-test-buyer') } : {}),
        ...input,
      },
      creator,
    );
    if (created.kind !== 'applied') throw new Error(`the order was not created (${created.kind})`);
    return new OrderStory(created.order, [created.event]);
  }

  /** Applies a command through the write path and records its event. */
  async step(db: Pool | PoolClient, command: Command, actor: Actor): Promise<OrderEvent> {
    if (actor.role === 'user' || actor.role === 'merchant') await ensureAccount(db, actor.role, actor.id);
    const result = await applyTransitionWith(db, { orderId: this.order.id, command, actor });
    if (result.kind !== 'applied') throw new Error(`${command.action} changed nothing (${result.kind})`);
    this.order = result.order;
    this.events.push(result.event);
    return result.event;
  }

  /** A buy order of `user` addressed to `merchant`, taken to completed: created, accepted, escrowed, paid, completed. */
  static async completedBuy(db: Pool | PoolClient, user: string, merchant: string): Promise<OrderStory> {
    const story = await OrderStory.create(db, { type: 'buy', merchantId: merchant }, { role: 'user', id: user });
    const m: Actor = { role: 'merchant', id: merchant };
    await story.step(db, { action: 'accept' }, m);
    await story.step(db, { action: 'lock_escrow', txHash: txHash() }, m);
    await story.step(db, { action: 'mark_paid' }, { role: 'user', id: user });
    await story.step(db, { action: 'confirm_and_release', txHash: txHash() }, m);
    return story;
  }
}

/**
 * A transaction on its own connection, left open: what is written on `client` stays invisible to other sessions
 * (the notifier's) until `commit()`, and is gone after `rollback()`.
 */
export async function openTransaction(pool: Pool): Promise<{ client: PoolClient; commit(): Promise<void>; rollback(): Promise<void> }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
  } catch (error) {
    client.release(true);
    throw error;
  }
  const end = async (sql: string): Promise<void> => {
    try {
      await client.query(sql);
    } finally {
      client.release();
    }
  };
  return { client, commit: () => end('COMMIT'), rollback: () => end('ROLLBACK') };
}

async function ensureAccount(db: Queryable, kind: 'user' | 'merchant', id: string): Promise<void> {
  await upsertAccount(db, { kind, id, wallet: { network: 'tron', address: testAddress(`notifier-test-profile-${kind}-${id}`) } });
}

export type EventProducer = Producer & { publish(topic: string, events: OrderEvent[]): Promise<void> };

/** A producer standing in for the relay: key = order id, value = the event JSON. */
export async function eventProducer(): Promise<EventProducer> {
  const kafka = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'notifier-test-relay' });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return Object.assign(producer, {
    publish: async (topic: string, events: OrderEvent[]) => {
      await producer.send({
        topic,
        acks: -1,
        messages: events.map((event) => ({ key: event.orderId, value: JSON.stringify(event), headers: { id: event.eventId } })),
      });
    },
  });
}

/** The test file's own topics (testkit createTestTopics, which retries a broker still electing leaders). */
export { createTestTopics as createTopics } from '@settle/testkit';

/** A notifier on a database and a topic of its own, with a producer standing in for the relay. */
export interface NotifierFixture {
  db: TestDatabase;
  pool: Pool;
  topic: string;
  notifier: Notifier;
  producer: EventProducer;
}

/** Starts a test file's notifier (call in beforeAll); `configExtra` overrides settings such as webhook timings. */
export async function startNotifierFixture(dbPrefix: string, configExtra: Record<string, string> = {}): Promise<NotifierFixture> {
  const db = await createTestDatabase(dbPrefix);
  const pool = createPool(db.url, { max: 3 });
  const { events: topic = '' } = await createTestTopics('notifier', [{ name: 'events', numPartitions: 3 }]);
  const notifier = await startNotifier({ config: testConfig(db.url, topic, configExtra), port: 0, host: '127.0.0.1' });
  const producer = await eventProducer();
  return { db, pool, topic, notifier, producer };
}

/**
 * A test file's notifier for the enclosing describe: started in beforeAll, stopped in afterAll. The returned
 * object is filled in when beforeAll has run.
 */
export function useNotifierFixture(dbPrefix: string, configExtra: Record<string, string> = {}): NotifierFixture {
  const fixture = {} as NotifierFixture;
  beforeAll(async () => {
    Object.assign(fixture, await startNotifierFixture(dbPrefix, configExtra));
  });
  afterAll(() => stopNotifierFixture(fixture));
  return fixture;
}

/** Stops what startNotifierFixture started (call in afterAll); tolerates a start that failed half-way. */
export async function stopNotifierFixture(fixture: Partial<NotifierFixture>): Promise<void> {
  await fixture.producer?.disconnect();
  await fixture.notifier?.stop();
  await fixture.pool?.end();
  await fixture.db?.drop();
}
