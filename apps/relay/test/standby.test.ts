import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@settle/stack';
import { testStack } from '@settle/testkit';
import { commitRows, probe, type RelayProcess, spawnRelay, startCollecting, waitFor, useRelaySource, relayEnv } from './helpers';

describe('one active relay, one standby', () => {
  const source = useRelaySource('relay_standby', { poolMax: 4, partitions: 3 });
  const processes: RelayProcess[] = [];

  afterAll(async () => {
    for (const relay of processes) {
      relay.child.kill('SIGKILL');
      await relay.exited;
    }
  });

  it('keeps the second instance healthy but not ready, and it takes over within 5 s of the active one being SIGKILLed', async () => {
    // Default standby poll (1 s), as in production.
    const env = {
      ...relayEnv(source),
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

    const collector = await startCollecting(testStack().kafkaBrokers, [source.topic]);
    try {
      const versions = new Map<string, number>();
      const key = randomUUID();
      const before = await commitRows(source.pool, [key], versions);
      await waitFor(() => collector.messages.some((message) => message.id === before[0]?.id), 'a row through the first relay');

      first.child.kill('SIGKILL');
      const killedAt = Date.now();
      await first.exited;
      const during = await commitRows(source.pool, [key], versions);
      await waitFor(
        async () => (await probe(second.port, '/ready')).status === 200,
        () => `the standby to become ready: ${second.output.join('')}`,
        10_000,
      );
      const takeover = Date.now() - killedAt;
      console.log(`[relay standby test] standby ready ${takeover} ms after SIGKILL of the active relay`);
      expect(takeover).toBeLessThan(5_000);

      const after = await commitRows(source.pool, [key], versions);
      await waitFor(
        () => [...during, ...after].every((row) => collector.messages.some((message) => message.id === row.id)),
        'rows committed around the takeover to reach Kafka',
      );
    } finally {
      await collector.stop();
    }
  }, 120_000);
});
