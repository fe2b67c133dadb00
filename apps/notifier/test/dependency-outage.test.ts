import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '@settle/config';
import { createPool, ensureDatabase, migrate, setupRelaySlot } from '@settle/db';
import { startRelay, type Relay } from '@settle/relay';
import { freePort, startEmbeddedPostgres, startKafkaBroker, type RunningKafka, type RunningPostgres } from '@settle/stack';
import { startNotifier, type Notifier } from '../src/notifier';
import { JWT_SECRET, waitFor } from './support';

/**
 * Postgres and Kafka of this file's own, stopped and started again under a running notifier and relay (the shared
 * test stack must stay up for the other files).
 */
describe('Postgres and Kafka going away under the notifier and the relay', () => {
  let dir: string;
  let ports: { pg: number; kafka: number; controller: number };
  let postgres: RunningPostgres | undefined;
  let kafka: RunningKafka | undefined;
  let notifier: Notifier | undefined;
  let relay: Relay | undefined;
  const startPostgres = (): Promise<RunningPostgres> => startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: ports.pg });
  const startKafka = (): Promise<RunningKafka> =>
    startKafkaBroker({ dir: path.join(dir, 'kafka'), port: ports.kafka, controllerPort: ports.controller });

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-outage-'));
    // As root, Postgres runs as the postgres user, which must enter the directory.
    await fs.chmod(dir, 0o755);
    ports = { pg: await freePort(), kafka: await freePort(), controller: await freePort() };
    [postgres, kafka] = await Promise.all([startPostgres(), startKafka()]);
    const url = await ensureDatabase(postgres.url, 'outage');
    await migrate(url);
    const slot = `outage_${randomBytes(4).toString('hex')}`;
    const setup = createPool(url, { max: 1 });
    await setupRelaySlot(setup, slot, 'settle_outbox_pub').finally(() => setup.end());
    const config: Config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: url,
      KAFKA_BROKERS: kafka.brokers.join(','),
      ORDER_EVENTS_TOPIC: 'outage.order.events',
      ORDER_EVENTS_PARTITIONS: '1',
      JWT_SECRET,
      NOTIFIER_DLT_MIRROR: '0',
      NOTIFIER_RETRY_CAP_MS: '1000',
      RELAY_SLOT: slot,
      RELAY_HEARTBEAT_MS: '250',
      RELAY_SEND_TIMEOUT_MS: '3000',
    });
    notifier = await startNotifier({ config, port: 0, host: '127.0.0.1' });
    relay = await startRelay({ config, port: 0 });
  });

  afterAll(async () => {
    await relay?.stop();
    await notifier?.stop();
    await kafka?.stop();
    await postgres?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const ready = async (port: number | null | undefined): Promise<{ status: number; body: Record<string, unknown> }> => {
    try {
      const response = await fetch(`http://127.0.0.1:${port ?? 0}/ready`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    } catch {
      return { status: 0, body: {} };
    }
  };
  const both = async (): Promise<Array<{ status: number; body: Record<string, unknown> }>> =>
    Promise.all([ready(notifier?.port), ready(relay?.port)]);
  const untilBoth = async (status: number, what: string): Promise<Array<{ status: number; body: Record<string, unknown> }>> => {
    let last: Array<{ status: number; body: Record<string, unknown> }> = [];
    await waitFor(
      async () => (last = await both()).every((report) => report.status === status),
      () => `${what}: ${JSON.stringify(last)}`,
      90_000,
    );
    return last;
  };

  it('/ready answers 503 on both while Postgres is down and while Kafka is down, and 200 again by itself when each is back', async () => {
    await untilBoth(200, 'notifier and relay ready');

    await postgres?.stop();
    postgres = undefined;
    for (const report of await untilBoth(503, 'both unready without Postgres')) expect(report.body['database']).not.toBe('ok');
    postgres = await startPostgres();
    await untilBoth(200, 'both ready once Postgres is back');

    await kafka?.stop();
    kafka = undefined;
    for (const report of await untilBoth(503, 'both unready without Kafka')) {
      expect(report.body['kafka']).not.toBe('ok');
      expect(report.body['database']).toBe('ok');
    }
    kafka = await startKafka();
    await untilBoth(200, 'both ready once Kafka is back');
  }, 300_000);
});
