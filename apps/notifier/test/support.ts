import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { signToken } from '@settle/auth';
import { loadConfig, type Config } from '@settle/config';
import { connectNotifier, type NotificationPayload, type NotifierClient, type NotifierClientOptions } from '@settle/contracts';
import { createPool, type Pool, type Queryable } from '@settle/db';
import {
  buildEvent,
  createOrder,
  decide,
  orderNumber,
  toView,
  type Actor,
  type Command,
  type CreateOrderInput,
  type Order,
  type OrderEvent,
} from '@settle/domain';
import { createKafka } from '@settle/kafka';
import { createTestDatabase, createTestTopics, sleep, testAddress, testStack, testTxHash, type TestDatabase } from '@settle/testkit';
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

const noWallets = (): null => null;
let hashCounter = 0;
export const txHash = (): string => testTxHash(`notifier-test-${randomUUID()}-${(hashCounter += 1)}`);

/** An order's life built with the domain (createOrder/decide/toView/buildEvent), so events are realistic. */
export class OrderStory {
  order: Order;
  readonly events: OrderEvent[] = [];

  private constructor(order: Order, creator: Actor) {
    this.order = order;
    this.events.push(
      buildEvent({
        eventId: randomUUID(),
        type: 'order.created',
        order: toView(order, noWallets),
        previousStatus: null,
        actor: creator,
        occurredAt: order.createdAt,
      }),
    );
  }

  static create(input: Partial<CreateOrderInput> & Pick<CreateOrderInput, 'type'>, creator: Actor): OrderStory {
    const now = new Date().toISOString();
    const order = createOrder(
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
      { id: randomUUID(), orderNumber: orderNumber(now, randomBytes(8)), now, profileWallet: () => testAddress('notifier-test-profile') },
    );
    return new OrderStory(order, creator);
  }

  /** Applies a command through the domain and records its event. */
  step(command: Command, actor: Actor): OrderEvent {
    const now = new Date().toISOString();
    const decision = decide(this.order, command, actor, { now, profileWallet: () => testAddress('notifier-test-profile') });
    if (decision.kind !== 'transition') throw new Error(`${command.action} changed nothing`);
    this.order = decision.order;
    const event = buildEvent({
      eventId: randomUUID(),
      type: decision.eventType,
      order: toView(decision.order, noWallets),
      previousStatus: decision.previousStatus,
      actor,
      occurredAt: now,
    });
    this.events.push(event);
    return event;
  }

  /** A buy order of `user` addressed to `merchant`, taken to completed: created, accepted, escrowed, paid, completed. */
  static completedBuy(user: string, merchant: string): OrderStory {
    const story = OrderStory.create({ type: 'buy', merchantId: merchant }, { role: 'user', id: user });
    const m: Actor = { role: 'merchant', id: merchant };
    story.step({ action: 'accept' }, m);
    story.step({ action: 'lock_escrow', txHash: txHash() }, m);
    story.step({ action: 'mark_paid' }, { role: 'user', id: user });
    story.step({ action: 'confirm_and_release', txHash: txHash() }, m);
    return story;
  }
}

/**
 * Writes the order's current state into the orders table (the API's table) so the notifier knows the order.
 * Only the columns the table requires; the API writes the full row through its own write path.
 */
export async function saveOrder(db: Queryable, order: Order): Promise<void> {
  await db.query(
    `INSERT INTO orders (id, order_number, type, status, order_version, book_order, merchant_id, user_id, buyer_merchant_id,
                         crypto_amount, crypto_currency, fiat_amount, fiat_currency, rate, payment_method, escrow_tx_hash,
                         release_tx_hash, refund_tx_hash, completed_at, created_at, updated_at, network)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, order_version = EXCLUDED.order_version, merchant_id = EXCLUDED.merchant_id,
       buyer_merchant_id = EXCLUDED.buyer_merchant_id, escrow_tx_hash = EXCLUDED.escrow_tx_hash, release_tx_hash = EXCLUDED.release_tx_hash,
       refund_tx_hash = EXCLUDED.refund_tx_hash, completed_at = EXCLUDED.completed_at, updated_at = EXCLUDED.updated_at`,
    [
      order.id,
      order.orderNumber,
      order.type,
      order.status,
      order.orderVersion,
      order.bookOrder,
      order.merchantId,
      order.userId,
      order.buyerMerchantId,
      order.cryptoAmount,
      order.cryptoCurrency,
      order.fiatAmount,
      order.fiatCurrency,
      order.rate,
      order.paymentMethod,
      order.escrowTxHash,
      order.releaseTxHash,
      order.refundTxHash,
      order.completedAt,
      order.createdAt,
      order.updatedAt,
      order.network,
    ],
  );
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

/**
 * createTestTopics, retried: when several files create topics at the same instant the broker sometimes answers
 * the leader wait with "does not host this topic-partition" for a moment.
 */
export async function createTopics(prefix: string, specs: Parameters<typeof createTestTopics>[1]): Promise<Record<string, string>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await createTestTopics(prefix, specs);
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(500 * attempt);
    }
  }
}

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
  const { events: topic = '' } = await createTopics('notifier', [{ name: 'events', numPartitions: 3 }]);
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
