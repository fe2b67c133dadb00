import { describe, expect, it } from 'vitest';
import { connectClient, OrderStory, tokenFor, useNotifierFixture, waitFor } from './support';

describe('notifier progress metrics', () => {
  const fx = useNotifierFixture('notifier_progress');

  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${fx.notifier.port}/metrics`)).text();
  const value = (metrics: string, name: string): number =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+|NaN)$`, 'm').exec(metrics)?.[1] ?? NaN);

  it("measures delivery latency from the event's occurredAt to the client's ack, and stamps progress when events are handled", async () => {
    const client = await connectClient(fx.notifier.port, await tokenFor('merchant', 'm-late'));
    try {
      const before = value(await scrape(), 'settle_notifier_last_progress_timestamp_seconds');
      const story = await OrderStory.create(fx.pool, { type: 'buy', merchantId: 'm-late' }, { role: 'user', id: 'u-late' });
      // An event committed 40 s before the notifier sees it (a relay or notifier that was behind).
      const event = story.events[0];
      if (event === undefined) throw new Error('the story has no event');
      event.occurredAt = new Date(Date.now() - 40_000).toISOString();
      await fx.producer.publish(fx.topic, story.events);
      await waitFor(() => client.shown.length === 1, 'the notification');
      await waitFor(async () => value(await scrape(), 'settle_notifier_delivery_latency_seconds_count') === 1, 'the ack to be recorded');

      const metrics = await scrape();
      // The row was written a moment ago; only a measurement from occurredAt sees the 40 s.
      expect(value(metrics, 'settle_notifier_delivery_latency_seconds_sum')).toBeGreaterThanOrEqual(40);
      expect(metrics).toMatch(/^settle_notifier_delivery_latency_seconds_bucket\{le="30",app="notifier"\} 0$/m);
      expect(value(metrics, 'settle_notifier_last_progress_timestamp_seconds')).toBeGreaterThan(before);
      expect(metrics).toMatch(/^settle_notifier_consumer_lag_messages\{partition="\d+",app="notifier"\} 0$/m);
    } finally {
      client.close();
    }
  });
});
