import { describe, expect, it } from 'vitest';
import { formatLsn, parseLsn } from '../src/lsn';
import { createTopicRouter, parseTopicRoutes, toOutboundRecord } from '../src/outbox-message';
import { Watermark } from '../src/watermark';

describe('LSNs', () => {
  it('compare as 64-bit numbers, not as text', () => {
    expect(parseLsn('9/0') < parseLsn('10/0')).toBe(true);
    expect(parseLsn('0/FFFFFFFF') < parseLsn('1/0')).toBe(true);
    expect(parseLsn('0000000A/0000BEEF')).toBe(parseLsn('A/BEEF'));
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
  });

  it('format as Postgres prints them and reject anything else', () => {
    expect(formatLsn(parseLsn('0000000A/0000BEEF'))).toBe('A/BEEF');
    expect(formatLsn((1n << 32n) - 1n)).toBe('0/FFFFFFFF');
    expect(() => parseLsn('10')).toThrow(RangeError);
    expect(() => parseLsn('1/2/3')).toThrow(RangeError);
  });
});

describe('the acknowledgement watermark', () => {
  it('does not pass a transaction whose messages Kafka has not all acknowledged, even when later ones are done', () => {
    const watermark = new Watermark(100n);
    const first = watermark.begin(0);
    first.pending = 2;
    watermark.commit(first, 200n);
    const second = watermark.begin(0);
    second.pending = 1;
    watermark.commit(second, 300n);
    expect(watermark.acknowledge(second)).toBe(100n);
    expect(watermark.acknowledge(first)).toBe(100n);
    expect(watermark.acknowledge(first)).toBe(300n);
  });

  it('does not pass a transaction whose commit has not arrived', () => {
    const watermark = new Watermark(100n);
    const open = watermark.begin(0);
    open.pending = 1;
    expect(watermark.acknowledge(open)).toBe(100n);
    expect(watermark.mark(150n)).toBe(100n);
    expect(watermark.commit(open, 120n)).toBe(150n);
  });

  it('acknowledges heartbeats and empty transactions at once when nothing earlier is pending', () => {
    const watermark = new Watermark(100n);
    expect(watermark.mark(110n)).toBe(110n);
    const empty = watermark.begin(0);
    expect(watermark.commit(empty, 130n)).toBe(130n);
    expect(watermark.open).toBe(0);
  });

  it('never moves below where the stream started', () => {
    const watermark = new Watermark(500n);
    const replayed = watermark.begin(0);
    expect(watermark.commit(replayed, 400n)).toBe(500n);
  });

  it('keeps working over many entries (compaction)', () => {
    const watermark = new Watermark(0n);
    for (let index = 1; index <= 5_000; index += 1) {
      const entry = watermark.begin(0);
      entry.pending = 1;
      watermark.commit(entry, BigInt(index));
      expect(watermark.acknowledge(entry)).toBe(BigInt(index));
    }
    expect(watermark.open).toBe(0);
  });
});

describe('outbox rows as Kafka messages', () => {
  const row = {
    id: '0b6f1c9e-8d7a-4a57-9a3e-3f7a1c2b9d10',
    aggregatetype: 'order',
    aggregateid: 'order-1',
    type: 'order.created',
    payload: '{"orderId": "order-1"}',
    headers: '{"traceparent": "00-abc", "id": "spoofed"}',
    order_version: 3,
    created_at: new Date('2026-01-02T03:04:05.678Z'),
  };

  it('routes order to the order topic, configured types to their topic and others to settle.<type>.events', () => {
    const route = createTopicRouter('settle.order.events', parseTopicRoutes('payout=payouts.v1, dispute = disputes'));
    expect(route('order')).toBe('settle.order.events');
    expect(route('payout')).toBe('payouts.v1');
    expect(route('dispute')).toBe('disputes');
    expect(route('merchant')).toBe('settle.merchant.events');
    expect(() => parseTopicRoutes('payout')).toThrow(RangeError);
  });

  it('keys by aggregateid, passes the payload through and sets the contract headers (ce_type versioned), which row headers cannot override', () => {
    const record = toOutboundRecord(row, '0/16B3748', createTopicRouter('orders'));
    expect(record).toEqual({
      topic: 'orders',
      message: {
        key: 'order-1',
        value: '{"orderId": "order-1"}',
        headers: {
          traceparent: '00-abc',
          id: row.id,
          'content-type': 'application/json',
          ce_specversion: '1.0',
          ce_id: row.id,
          ce_type: 'settle.order.created.v1',
          ce_dataschema: 'https://settle.dev/schemas/order.created.v1.json',
          ce_source: '/settle/orders',
          ce_subject: 'order-1',
          ce_time: '2026-01-02T03:04:05.678Z',
          orderVersion: '3',
          commitLsn: '0/16B3748',
        },
      },
    });
  });
});
