import { describe, expect, it } from 'vitest';
import { createKafka, ensureTopics } from '@settle/kafka';
import { testStack, uniqueSuffix, sleep } from '@settle/testkit';
import { commitRows, metricValue, probe, waitFor, useRelay } from './helpers';

/**
 * The figures the alerts read: rows waiting to be published and the oldest one's age, and the last progress time.
 * A topic that does not exist yet (the broker does not create topics) holds the relay back the way a broker outage
 * would, until the test creates it.
 */
describe('relay backlog and progress metrics', () => {
  const lateTopic = `relay-backlog.${uniqueSuffix()}.late`;
  const backlog = useRelay('relay_backlog', {
    poolMax: 4,
    env: {
      RELAY_TOPIC_ROUTES: `late=${lateTopic}`,
      RELAY_SEND_TIMEOUT_MS: '3000',
      // No heartbeat while the held rows are written: a heartbeat committed between their insert and their
      // commit would move the acknowledged time past their created_at, and the gauge (by design, see
      // backlog.ts) would not count them until the next acknowledgement, which the held rows block.
      RELAY_HEARTBEAT_MS: '600000',
    },
    start: { port: 0, lagIntervalMs: 200 },
  });

  const scrape = async (): Promise<string> => (await probe(backlog.relay.port ?? 0, '/metrics')).body;

  it('counts committed rows Kafka has not acknowledged, ages the oldest, and goes back to 0 once they are published', async () => {
    const versions = new Map<string, number>();
    await commitRows(backlog.pool, ['ok-1', 'ok-2'], versions);
    await waitFor(
      async () => metricValue(await scrape(), 'settle_relay_outbox_waiting_events') === 0,
      'the backlog to be known and empty',
      20_000,
    );
    const before = metricValue(await scrape(), 'settle_relay_last_progress_timestamp_seconds') ?? 0;
    expect(before).toBeGreaterThan(Date.now() / 1000 - 60);

    await commitRows(backlog.pool, ['held-1', 'held-2', 'held-3'], versions, 'late');
    await commitRows(backlog.pool, ['after-1'], versions);
    await waitFor(async () => metricValue(await scrape(), 'settle_relay_outbox_waiting_events') === 4, 'four rows waiting', 20_000);
    await sleep(1_500);
    const stalled = await scrape();
    expect(metricValue(stalled, 'settle_relay_outbox_waiting_events')).toBe(4);
    expect(metricValue(stalled, 'settle_relay_outbox_oldest_waiting_age_seconds')).toBeGreaterThanOrEqual(1.4);
    // Nothing after the held transaction can be acknowledged.
    expect(Date.now() / 1000 - (metricValue(stalled, 'settle_relay_last_progress_timestamp_seconds') ?? 0)).toBeGreaterThan(1.2);

    await ensureTopics(createKafka({ brokers: testStack().kafkaBrokers, clientId: 'relay-backlog-test' }), [
      { topic: lateTopic, numPartitions: 1 },
    ]);
    await waitFor(async () => metricValue(await scrape(), 'settle_relay_outbox_waiting_events') === 0, 'the backlog to drain', 40_000);
    const drained = await scrape();
    expect(metricValue(drained, 'settle_relay_outbox_oldest_waiting_age_seconds')).toBe(0);
    expect(metricValue(drained, 'settle_relay_last_progress_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 5);
  });
});
