import { describe, expect, it } from 'vitest';
import { orderEvent } from '@settle/contracts';
import type { Actor } from '@settle/domain';
import { testStack, walkSellOrder } from '@settle/testkit';
import { startCollecting, useRelay, waitFor } from './helpers';

/** Payment details (IBAN, holder) are for the parties over REST only: the topic every downstream service reads never carries them. */
describe('payment details never reach Kafka', () => {
  const privacy = useRelay('privacy', { poolMax: 3, partitions: 3 });

  it('a full order lifecycle with payment details publishes schema-valid events without them', async () => {
    const iban = 'AE070331234567890123456';
    const holder = 'Ana Privacy-Example';
    const user: Actor = { role: 'user', id: 'u-privacy' };
    const merchant: Actor = { role: 'merchant', id: 'm-privacy' };
    const walked = await walkSellOrder(privacy.pool, {
      user,
      merchant,
      label: 'privacy',
      order: { paymentMethod: 'bank_transfer', paymentDetails: { iban, holder } },
      paymentReference: 'UTR-42',
    });
    expect(walked.map((order) => order.status)).toEqual(['open', 'accepted', 'escrowed', 'payment_sent', 'completed']);
    expect(walked[0]?.paymentDetails).toEqual({ iban, holder });
    const id = walked[0]!.id;

    const collector = await startCollecting(testStack().kafkaBrokers, [privacy.topic]);
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
