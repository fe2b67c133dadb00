import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inTransaction } from '@settle/db';
import { testStack } from '@settle/testkit';
import { parseLsn } from '../src/lsn';
import {
  commitRows,
  confirmedFlush,
  insertOutbox,
  metricValue,
  probe,
  startCollecting,
  waitFor,
  type Written,
  expectVersionsInOrder,
  useRelay,
} from './helpers';

describe('WAL relay (in process, real Postgres and Kafka)', () => {
  const wal = useRelay('relay_wal', {
    poolMax: 8,
    topics: [
      { name: 'orders', numPartitions: 3 },
      { name: 'payouts', numPartitions: 1 },
    ],
    env: (topics) => ({ RELAY_TOPIC_ROUTES: `payout=${topics['payouts'] ?? ''}`, RELAY_BATCH_SIZE: '200' }),
    start: { port: 0 },
  });

  it('publishes every committed outbox row once, never a rolled-back one, in commit order per key, with CloudEvents headers', async () => {
    const collector = await startCollecting(testStack().kafkaBrokers, [wal.topics['orders'] ?? '', wal.topics['payouts'] ?? '']);
    try {
      const written: Written[] = [];
      const rolledBack: string[] = [];
      // Four writers commit concurrently; each owns its keys, so its commit order is each key's commit order.
      await Promise.all(
        [0, 1, 2, 3].map(async (writer) => {
          const keys = Array.from({ length: 5 }, () => randomUUID());
          const versions = new Map<string, number>();
          for (let round = 0; round < 40; round += 1) {
            const picked = keys.filter((_, index) => (index + round) % 3 !== 0);
            written.push(...(await commitRows(wal.pool, picked, versions)));
            if (round % 10 === writer) {
              await inTransaction(wal.pool, async (client) => {
                rolledBack.push((await insertOutbox(client, { aggregateid: keys[0] ?? '', version: 999 })).id);
                throw new Error('roll back on purpose');
              }).catch(() => undefined);
            }
          }
        }),
      );
      const payouts = await commitRows(wal.pool, [randomUUID(), randomUUID()], new Map(), 'payout');
      // Written after everything else: once it is in Kafka, every earlier commit has been streamed too.
      const sentinel = await commitRows(wal.pool, [randomUUID()], new Map());
      const expected = new Set([...written, ...payouts, ...sentinel].map((row) => row.id));

      await waitFor(
        () => new Set(collector.messages.map((message) => message.id)).size >= expected.size,
        () => `every committed row in Kafka: ${new Set(collector.messages.map((message) => message.id)).size}/${expected.size}`,
        30_000,
      );
      const ids = collector.messages.map((message) => message.id);
      expect(new Set(ids)).toEqual(expected);
      expect(ids.length).toBe(expected.size);
      expect(ids.filter((id) => rolledBack.includes(id))).toEqual([]);

      expectVersionsInOrder(collector.messages.filter((message) => message.topic === wal.topics['orders']));

      const byId = new Map([...written, ...payouts, ...sentinel].map((row) => [row.id, row]));
      const createdAt = new Map(
        (await wal.pool.query<{ id: string; created_at: Date }>(`SELECT id, created_at FROM outbox`)).rows.map((row) => [
          row.id,
          row.created_at.toISOString(),
        ]),
      );
      for (const message of collector.messages) {
        const row = byId.get(message.id);
        expect(row).toBeDefined();
        if (row === undefined) continue;
        expect(message.topic).toBe(row.aggregatetype === 'payout' ? wal.topics['payouts'] : wal.topics['orders']);
        expect(message.key).toBe(row.aggregateid);
        expect(JSON.parse(message.value)).toEqual(row.payload);
        expect(message.headers).toMatchObject({
          id: row.id,
          'content-type': 'application/json',
          ce_specversion: '1.0',
          ce_id: row.id,
          ce_type: row.type,
          ce_source: `/settle/${row.aggregatetype}s`,
          ce_subject: row.aggregateid,
          ce_time: createdAt.get(row.id),
          orderVersion: String(row.version),
          traceparent: `00-${row.id}`,
        });
        expect(message.headers['commitLsn']).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      }
    } finally {
      await collector.stop();
    }
  });

  it('acknowledges heartbeats so an idle outbox still advances the slot', async () => {
    const before = await confirmedFlush(wal.pool, wal.slot);
    expect(before).not.toBeNull();
    await waitFor(
      async () => parseLsn((await confirmedFlush(wal.pool, wal.slot)) ?? '0/0') > parseLsn(before ?? '0/0'),
      'confirmed_flush_lsn to move past its value while idle',
      10_000,
    );
    const metrics = (await probe(wal.relay.port ?? 0, '/metrics')).body;
    expect(metricValue(metrics, 'settle_relay_heartbeats_total', '{outcome="written",app="relay"}')).toBeGreaterThan(0);
  });

  it('serves metrics, health and readiness for the active, streaming relay', async () => {
    const port = wal.relay.port ?? 0;
    const metrics = (await probe(port, '/metrics')).body;
    expect(metricValue(metrics, 'settle_relay_published_events_total', `{topic="${wal.topics['orders']}",app="relay"}`)).toBeGreaterThan(0);
    const acked = metricValue(metrics, 'settle_relay_commit_to_ack_seconds_count');
    expect(acked).toBeGreaterThan(0);
    // Its two halves, split where the relay received each event: one sample each per event, adding up to the whole.
    expect(metricValue(metrics, 'settle_relay_commit_to_receive_seconds_count')).toBe(acked);
    expect(metricValue(metrics, 'settle_relay_receive_to_ack_seconds_count')).toBe(acked);
    const halves =
      (metricValue(metrics, 'settle_relay_commit_to_receive_seconds_sum') ?? Number.NaN) +
      (metricValue(metrics, 'settle_relay_receive_to_ack_seconds_sum') ?? Number.NaN);
    expect(halves).toBeCloseTo(metricValue(metrics, 'settle_relay_commit_to_ack_seconds_sum') ?? Number.NaN, 1);
    for (const name of [
      'settle_relay_slot_lag_bytes',
      'settle_relay_in_flight_events',
      'settle_relay_last_ack_age_seconds',
      'settle_relay_slot_missing',
    ]) {
      expect(metricValue(metrics, name), name).toBeDefined();
    }
    expect(metricValue(metrics, 'settle_relay_slot_missing')).toBe(0);
    expect(metricValue(metrics, 'settle_relay_active')).toBe(1);
    expect(metricValue(metrics, 'settle_relay_last_ack_age_seconds')).toBeLessThan(5);
    const health = await probe(port, '/health');
    expect(health.status).toBe(200);
    const ready = await probe(port, '/ready');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ok', role: 'active', mode: 'wal', streaming: true, slot: wal.slot });
  });
});

describe('WAL relay with a small in-flight bound', () => {
  const bound = useRelay('relay_bound', { poolMax: 2, partitions: 2, env: { RELAY_MAX_IN_FLIGHT: '50', RELAY_BATCH_SIZE: '20' } });

  it('streams a transaction far larger than the in-flight bound, in order, and acknowledges it only when all of it is in Kafka', async () => {
    const collector = await startCollecting(testStack().kafkaBrokers, [bound.topic]);
    try {
      const key = randomUUID();
      const versions = new Map<string, number>();
      let peakInFlight = 0;
      const sampler = setInterval(() => {
        void bound.relay.registry
          .getSingleMetric('settle_relay_in_flight_events')
          ?.get()
          .then((metric) => {
            peakInFlight = Math.max(peakInFlight, metric.values[0]?.value ?? 0);
          });
      }, 5);
      const rows = await commitRows(
        bound.pool,
        Array.from({ length: 1_000 }, () => key),
        versions,
      );
      await waitFor(
        () => collector.messages.length >= rows.length,
        () => `the whole transaction in Kafka: ${collector.messages.length}/${rows.length}`,
        30_000,
      );
      clearInterval(sampler);
      expect(collector.messages.map((message) => message.id)).toEqual(rows.map((row) => row.id));
      const commitLsn = parseLsn(collector.messages[0]?.headers['commitLsn'] ?? '0/0');
      await waitFor(() => parseLsn(bound.relay.status().watermark ?? '0/0') > commitLsn, 'the watermark to pass the transaction commit');
      expect(peakInFlight).toBeLessThanOrEqual(50);
    } finally {
      await collector.stop();
    }
  });
});
