import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderEvent } from '@settle/contracts';
import { applyTransition, createOrderRecord, createPool, setupRelaySlot, upsertAccount, type Pool } from '@settle/db';
import type { Actor } from '@settle/domain';
import { createTestDatabase, testAddress, testStack, testTxHash, type TestDatabase } from '@settle/testkit';
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
    await upsertAccount(pool, { kind: 'merchant', id: merchant.id });
    const created = await createOrderRecord(
      pool,
      {
        type: 'sell',
        merchantId: merchant.id,
        cryptoAmount: '100',
        cryptoCurrency: 'USDT',
        fiatAmount: '367.25',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'bank_transfer',
        paymentDetails: { iban, holder },
      },
      user,
    );
    if (created.kind !== 'applied') throw new Error('not created');
    expect(created.order.paymentDetails).toEqual({ iban, holder });
    const id = created.order.id;
    const steps: Array<[Parameters<typeof applyTransition>[1]['command'], Actor]> = [
      [{ action: 'accept', walletAddress: testAddress('privacy-merchant') }, merchant],
      [{ action: 'lock_escrow', txHash: testTxHash('privacy-escrow') }, user],
      [{ action: 'mark_paid', paymentReference: 'UTR-42' }, merchant],
      [{ action: 'confirm_and_release', txHash: testTxHash('privacy-release') }, user],
    ];
    for (const [command, actor] of steps) {
      const result = await applyTransition(pool, { orderId: id, command, actor });
      expect(result.kind).toBe('applied');
    }

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
