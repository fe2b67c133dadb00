import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderEvent } from '@settle/contracts';
import { createPool, setupRelaySlot, type Pool } from '@settle/db';
import type { Actor } from '@settle/domain';
import { createTestDatabase, testStack, walkSellOrder, type TestDatabase } from '@settle/testkit';
import { type Relay, startRelay } from '../src/relay';
import { createTopics, relayConfig, startCollecting, uniqueSlot, waitFor } from './helpers';

/** Payment details (IBAN, holder) are for the parties over REST only: the topic every downstream service reads never carries them. */
describe('payment details never reach Kafka', () => {
  let db: TestDatabase;
  let pool: Pool;
  let relay: Relay;
  let topic: string;

  beforeAll(async () => {
    db = await createTestDatabase('privacy');
    pool = createPool(db.url, { max: 3 });
    ({ events: topic = '' } = await createTopics('privacy', [{ name: 'events', numPartitions: 3 }]));
    const slot = uniqueSlot('privacy');
    await setupRelaySlot(pool, slot, 'settle_outbox_pub');
    relay = await startRelay({
      config: relayConfig({
        DATABASE_URL: db.url,
        KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
        ORDER_EVENTS_TOPIC: topic,
        RELAY_SLOT: slot,
      }),
      port: null,
    });
  });

  afterAll(async () => {
    await relay?.stop();
    await pool?.end();
    await db?.drop();
  });

  it('a full order lifecycle with payment details publishes schema-valid events without them', async () => {
    const iban = 'AE070331234567890123456';
    const holder = 'Ana Privacy-Example';
    const user: Actor = { role: 'user', id: 'u-privacy' };
    const merchant: Actor = { role: 'merchant', id: 'm-privacy' };
    const walked = await walkSellOrder(pool, {
      user,
      merchant,
      label: 'privacy',
      order: { paymentMethod: 'bank_transfer', paymentDetails: { iban, holder } },
      paymentReference: 'UTR-42',
    });
    expect(walked.map((order) => order.status)).toEqual(['open', 'accepted', 'escrowed', 'payment_sent', 'completed']);
    expect(walked[0]?.paymentDetails).toEqual({ iban, holder });
    const id = walked[0]!.id;

    const collector = await startCollecting(testStack().kafkaBrokers, [topic]);
    try {
      await waitFor(
        () => collector.messages.filter((message) => message.key === id).length >= 5,
        "the order's five events on the topic",
        30_000,
      );
      const messages = collector.messages.filter((message) => message.key === id);
      expect(messages.map((message) => (JSON.parse(message.value) as { type: string }).type)).toEqual([
        'order.created',
        'order.accepted',
        'order.escrow_locked',
        'order.payment_sent',
        'order.completed',
      ]);
      for (const message of messages) {
        const text = `${message.value}\n${JSON.stringify(message.headers)}`;
        expect(text).not.toContain(iban);
        expect(text).not.toContain(holder);
        const raw = JSON.parse(message.value) as { order: Record<string, unknown> };
        expect(raw.order).not.toHaveProperty('paymentDetails');
        const event = orderEvent.parse(raw);
        expect(event.order.network).toBe('tron');
      }
    } finally {
      await collector.stop();
    }
  });
});
