import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupRelaySlot } from '@settle/db';
import { createKafka, ensureTopics } from '@settle/kafka';
import { freePort, type RunningKafka, startKafkaBroker } from '@settle/stack';
import { useTestDatabase, sleep } from '@settle/testkit';
import { type Relay, startRelay } from '../src/relay';
import { checkDelivery } from './delivery-check';
import {
  commitRows,
  metricValue,
  probe,
  relayConfig,
  startCollecting,
  uniqueSlot,
  waitFor,
  expectAllInKafka,
  expectVersionsInOrder,
} from './helpers';

const MAX_IN_FLIGHT = 300;

describe('Kafka broker down for 10 s during a stream', () => {
  const database = useTestDatabase('relay_outage', { max: 4 });
  let dir: string;
  let broker: RunningKafka | undefined;
  let relay: Relay | undefined;
  let ports: { port: number; controllerPort: number };
  const topic = `relay-outage.${randomUUID().slice(0, 8)}.orders`;
  const slot = uniqueSlot('relay_outage');

  // A broker of this file's own, so stopping it does not disturb the shared test broker.
  const startBroker = async (): Promise<RunningKafka> => startKafkaBroker({ dir, ...ports });

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-relay-outage-'));
    ports = { port: await freePort(), controllerPort: await freePort() };
    await setupRelaySlot(database.pool, slot, 'settle_outbox_pub');
    broker = await startBroker();
    await ensureTopics(createKafka({ brokers: broker.brokers, clientId: 'relay-outage-admin' }), [{ topic, numPartitions: 3 }]);
  });

  afterAll(async () => {
    await relay?.stop();
    await broker?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('stops reading while Kafka is away (bounded in-flight), resumes when it returns and loses nothing', async () => {
    const brokers = broker?.brokers ?? [];
    relay = await startRelay({
      config: relayConfig({
        DATABASE_URL: database.url,
        KAFKA_BROKERS: brokers.join(','),
        ORDER_EVENTS_TOPIC: topic,
        RELAY_SLOT: slot,
        RELAY_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
        RELAY_BATCH_SIZE: '50',
        RELAY_SEND_TIMEOUT_MS: '5000',
      }),
      port: 0,
    });
    const port = relay.port ?? 0;
    await waitFor(() => relay?.status().streaming === true, 'the relay to stream', 30_000);

    let writing = true;
    const writer = (async () => {
      const keys = Array.from({ length: 6 }, () => randomUUID());
      const versions = new Map<string, number>();
      while (writing) {
        await commitRows(database.pool, keys.slice(0, 1 + Math.floor(Math.random() * keys.length)), versions);
        await sleep(5);
      }
    })();
    let peakInFlight = 0;
    const sampler = setInterval(() => {
      void probe(port, '/metrics').then(({ body }) => {
        peakInFlight = Math.max(peakInFlight, metricValue(body, 'settle_relay_in_flight_events') ?? 0);
      });
    }, 100);

    try {
      await waitFor(
        async () => (metricValue((await probe(port, '/metrics')).body, 'settle_relay_published_events_total') ?? 0) > 200,
        'events to flow',
      );
      await broker?.stop();
      const stoppedAt = Date.now();
      await sleep(10_000);
      console.log(`[relay outage test] relay while Kafka is down: ${JSON.stringify(relay.status())}`);
      broker = await startBroker();
      console.log(`[relay outage test] broker back after ${Date.now() - stoppedAt} ms`);
      // Keep writing for a while against the recovered broker, then stop and let the relay catch up.
      await sleep(2_000);
    } finally {
      writing = false;
      await writer;
      clearInterval(sampler);
    }

    const { rows } = await database.pool.query<{ id: string }>(`SELECT id FROM outbox`);
    const ids = new Set(rows.map((row) => row.id));
    const collector = await startCollecting(broker?.brokers ?? [], [topic]);
    try {
      await waitFor(
        () => new Set(collector.messages.map((message) => message.id)).size >= ids.size,
        () =>
          `every outbox id in Kafka: ${new Set(collector.messages.map((message) => message.id)).size}/${ids.size}; relay ${JSON.stringify(relay?.status())}`,
        60_000,
      );
      expectAllInKafka(ids, collector.messages);
      expectVersionsInOrder(collector.messages);
      const report = checkDelivery(collector.messages);
      console.log(
        `[relay outage test] ${ids.size} outbox rows, ${collector.messages.length} Kafka messages, ${report.duplicates} duplicates; ` +
          `peak in-flight ${peakInFlight} (bound ${MAX_IN_FLIGHT})`,
      );
      expect(peakInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
      await waitFor(async () => (await probe(port, '/ready')).status === 200, 'the relay to be ready again');
    } finally {
      await collector.stop();
    }
  }, 180_000);
});
