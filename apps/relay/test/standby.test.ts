import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool, setupRelaySlot } from '@settle/db';
import { freePort } from '@settle/stack';
import { createTestDatabase, testStack, type TestDatabase } from '@settle/testkit';
import { commitRows, createTopics, probe, type RelayProcess, spawnRelay, startCollecting, uniqueSlot, waitFor } from './helpers';

describe('one active relay, one standby', () => {
  let db: TestDatabase;
  let pool: Pool;
  let topic: string;
  const slot = uniqueSlot('relay_standby');
  const processes: RelayProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('relay_standby');
    pool = createPool(db.url, { max: 4 });
    ({ orders: topic = '' } = await createTopics('relay-standby', [{ name: 'orders', numPartitions: 3 }]));
    await setupRelaySlot(pool, slot, 'settle_outbox_pub');
  });

  afterAll(async () => {
    for (const relay of processes) {
      relay.child.kill('SIGKILL');
      await relay.exited;
    }
    await pool?.end();
    await db?.drop();
  });

  it('keeps the second instance healthy but not ready, and it takes over within 5 s of the active one being SIGKILLed', async () => {
    // Default standby poll (1 s), as in production.
    const env = {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
      ORDER_EVENTS_TOPIC: topic,
      RELAY_SLOT: slot,
      RELAY_STANDBY_POLL_MS: '1000',
    };
    const first = spawnRelay(env, await freePort());
    processes.push(first);
    await waitFor(
      async () => (await probe(first.port, '/ready')).status === 200,
      () => `the first relay to stream: ${first.output.join('')}`,
      30_000,
    );
    const second = spawnRelay(env, await freePort());
    processes.push(second);
    await waitFor(
      async () => {
        const ready = await probe(second.port, '/ready');
        return ready.status === 503 && (JSON.parse(ready.body) as { role?: string }).role === 'standby';
      },
      () => `the second relay to answer as standby: ${second.output.join('')}`,
      30_000,
    );
    expect((await probe(second.port, '/health')).status).toBe(200);
    expect((await probe(second.port, '/metrics')).body).toMatch(/^settle_relay_active\{app="relay"\} 0$/m);

    const collector = await startCollecting(testStack().kafkaBrokers, [topic]);
    try {
      const versions = new Map<string, number>();
      const key = randomUUID();
      const before = await commitRows(pool, [key], versions);
      await waitFor(() => collector.messages.some((message) => message.id === before[0]?.id), 'a row through the first relay');

      first.child.kill('SIGKILL');
      const killedAt = Date.now();
      await first.exited;
      const during = await commitRows(pool, [key], versions);
      await waitFor(
        async () => (await probe(second.port, '/ready')).status === 200,
        () => `the standby to become ready: ${second.output.join('')}`,
        10_000,
      );
      const takeover = Date.now() - killedAt;
      console.log(`[relay standby test] standby ready ${takeover} ms after SIGKILL of the active relay`);
      expect(takeover).toBeLessThan(5_000);

      const after = await commitRows(pool, [key], versions);
      await waitFor(
        () => [...during, ...after].every((row) => collector.messages.some((message) => message.id === row.id)),
        'rows committed around the takeover to reach Kafka',
      );
    } finally {
      await collector.stop();
    }
  }, 120_000);
});
