import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Pool } from '@settle/db';
import { testStack } from '@settle/testkit';
import { parseLsn } from '../src/lsn';
import type { Relay } from '../src/relay';
import { commitRows, confirmedFlush, startCollecting, waitFor, type Written, useRelay } from './helpers';

/** A counter's total, or a histogram's count of observations. */
async function metric(relay: Relay, name: string): Promise<number> {
  const values = (await relay.registry.getSingleMetric(name)?.get())?.values ?? [];
  const counted = values.filter((value) => {
    const series = (value as { metricName?: string }).metricName;
    return series === undefined || series === `${name}_count`;
  });
  return counted.reduce((sum, value) => sum + value.value, 0);
}

/** Commits `count` single-row transactions for two keys, one every `everyMs`. */
async function trickle(pool: Pool, count: number, everyMs: number): Promise<Written[]> {
  const keys = [randomUUID(), randomUUID()];
  const versions = new Map<string, number>();
  const written: Written[] = [];
  for (let index = 0; index < count; index += 1) {
    written.push(...(await commitRows(pool, [keys[index % 2] ?? ''], versions)));
    await sleep(everyMs);
  }
  return written;
}

/** The produce requests `relay` made while `work` committed rows and it published them, and how long `work` took. */
async function requestsFor(
  relay: Relay,
  work: () => Promise<Written[]>,
): Promise<{ requests: number; elapsed: number; written: Written[] }> {
  const requestsBefore = await metric(relay, 'settle_relay_batch_size_events');
  const publishedBefore = await metric(relay, 'settle_relay_published_events_total');
  const began = Date.now();
  const written = await work();
  const elapsed = Date.now() - began;
  await waitFor(
    async () => (await metric(relay, 'settle_relay_published_events_total')) - publishedBefore >= written.length,
    'the relay to publish',
  );
  return { requests: (await metric(relay, 'settle_relay_batch_size_events')) - requestsBefore, elapsed, written };
}

describe('WAL relay at a steady trickle, lingering at any rate (RELAY_LINGER_MS=200, RELAY_LINGER_FROM_RATE=0)', () => {
  const setup = useRelay('relay_linger', { poolMax: 2, partitions: 2, env: { RELAY_LINGER_MS: '200', RELAY_LINGER_FROM_RATE: '0' } });

  it('sends the transactions that arrive within a linger in one produce request, every one of them, in commit order per key', async () => {
    const { pool, relay, topic } = setup;
    const collector = await startCollecting(testStack().kafkaBrokers, [topic]);
    try {
      const { requests, elapsed, written } = await requestsFor(relay, () => trickle(pool, 50, 20));
      // Without the linger each of the 50 transactions (20 ms apart, acknowledged in a few ms) is a request of its own.
      expect(requests).toBeGreaterThan(0);
      expect(requests).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 2);
      await waitFor(
        () => collector.messages.length >= written.length,
        () => `every row in Kafka: ${collector.messages.length}/${written.length}`,
        30_000,
      );
      for (const key of new Set(written.map((row) => row.aggregateid))) {
        const consumed = collector.messages.filter((message) => message.key === key).map((message) => message.id);
        expect(consumed).toEqual(written.filter((row) => row.aggregateid === key).map((row) => row.id));
      }
    } finally {
      await collector.stop();
    }
  });

  it('sends a lone event within the linger, without waiting for more', async () => {
    const { pool, topic } = setup;
    const collector = await startCollecting(testStack().kafkaBrokers, [topic]);
    try {
      await waitFor(() => collector.messages.length >= 50, 'the earlier rows to be read back', 30_000);
      const [row] = await commitRows(pool, [randomUUID()], new Map());
      await waitFor(() => collector.messages.some((message) => message.id === row?.id), 'the lone event in Kafka', 10_000);
    } finally {
      await collector.stop();
    }
  });
});

describe('WAL relay lingering only while the outbox is busy (RELAY_LINGER_MS=300, RELAY_LINGER_FROM_RATE=20)', () => {
  const setup = useRelay('relay_linger_rate', { poolMax: 2, partitions: 2, env: { RELAY_LINGER_MS: '300', RELAY_LINGER_FROM_RATE: '20' } });

  it('sends each event of a trickle slower than the rate at once, each in a request of its own', async () => {
    // 4 events/s: a 300 ms linger would put the events 250 ms apart together, two or three to a request.
    const { requests } = await requestsFor(setup.relay, () => trickle(setup.pool, 6, 250));
    expect(requests).toBeGreaterThanOrEqual(5);
  });

  it('lingers while events arrive faster than the rate, gathering them into a request per linger', async () => {
    const { requests, elapsed, written } = await requestsFor(setup.relay, () => trickle(setup.pool, 60, 10));
    expect(written.length / (elapsed / 1000)).toBeGreaterThan(20);
    // Until 5 events have come within 250 ms (20/s) each goes at once; then a request per linger. Without the
    // linger each of the 60 would be a request of its own.
    expect(requests).toBeLessThanOrEqual(5 + Math.ceil(elapsed / 300) + 2);
  });
});

describe('WAL relay position reports (RELAY_STATUS_INTERVAL_MS=250)', () => {
  const setup = useRelay('relay_reports', { poolMax: 2, partitions: 2, env: { RELAY_LINGER_MS: '0', RELAY_STATUS_INTERVAL_MS: '250' } });

  it('reports the acknowledged position at most once per interval under load, and the slot catches up with the last ack', async () => {
    const { pool, relay, topic, slot } = setup;
    const collector = await startCollecting(testStack().kafkaBrokers, [topic]);
    try {
      const reportsBefore = await metric(relay, 'settle_relay_status_reports_total');
      const publishedBefore = await metric(relay, 'settle_relay_published_events_total');
      const began = Date.now();
      const written = await trickle(pool, 100, 10);
      await waitFor(
        async () => (await metric(relay, 'settle_relay_published_events_total')) - publishedBefore >= 100,
        'the relay to publish',
      );
      const elapsed = Date.now() - began;
      // Each of the 100 transactions moves the position; one report per interval (plus the first at once) is the bound.
      const reports = (await metric(relay, 'settle_relay_status_reports_total')) - reportsBefore;
      expect(reports).toBeGreaterThan(0);
      expect(reports).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2);
      await waitFor(() => collector.messages.length >= written.length, 'every row in Kafka', 30_000);
      const lastCommit = parseLsn(collector.messages.at(-1)?.headers['commitLsn'] ?? '0/0');
      await waitFor(
        async () => parseLsn((await confirmedFlush(pool, slot)) ?? '0/0') > lastCommit,
        'confirmed_flush_lsn to pass the last commit',
        5_000,
      );
    } finally {
      await collector.stop();
    }
  });
});

describe('WAL relay with a long linger and a small RELAY_BATCH_BYTES', () => {
  const setup = useRelay('relay_batch_bytes', {
    poolMax: 2,
    partitions: 2,
    env: { RELAY_LINGER_MS: '10000', RELAY_LINGER_FROM_RATE: '0', RELAY_BATCH_BYTES: '4096' },
  });

  it('sends events as soon as they fill RELAY_BATCH_BYTES, without waiting out the linger', async () => {
    const { pool, relay } = setup;
    const publishedBefore = await metric(relay, 'settle_relay_published_events_total');
    // 100 rows of ~200 bytes each: 4 kB is reached many times over, so nothing waits for the 10 s linger but a tail.
    const began = Date.now();
    await commitRows(
      pool,
      Array.from({ length: 100 }, () => randomUUID()),
      new Map(),
    );
    await waitFor(
      async () => (await metric(relay, 'settle_relay_published_events_total')) - publishedBefore >= 90,
      'the full requests to be published',
      8_000,
    );
    expect(Date.now() - began).toBeLessThan(10_000);
  });
});
