import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@settle/stack';
import { testStack, sleep } from '@settle/testkit';
import { checkDelivery } from './delivery-check';
import {
  commitRows,
  probe,
  type RelayProcess,
  spawnRelay,
  startCollecting,
  waitFor,
  useRelaySource,
  relayEnv,
  expectAllInKafka,
  expectVersionsInOrder,
} from './helpers';

describe('relay process killed with SIGKILL while a writer commits', () => {
  const source = useRelaySource('relay_crash', { poolMax: 6, partitions: 3 });
  let current: RelayProcess | undefined;

  afterAll(async () => {
    current?.child.kill('SIGKILL');
    await current?.exited;
  });

  it('loses nothing over 10 kills: every outbox id reaches Kafka, per-key order holds, duplicates are only replayed unacknowledged tails', async () => {
    const env = {
      ...relayEnv(source),
      RELAY_BATCH_SIZE: '100',
      LOG_LEVEL: 'warn',
    };
    const collector = await startCollecting(testStack().kafkaBrokers, [source.topic]);
    let writing = true;
    let committed = 0;
    // Two writers, each owning its keys, so each key's commit order is known.
    const writers = [0, 1].map(async () => {
      const keys = Array.from({ length: 8 }, () => randomUUID());
      const versions = new Map<string, number>();
      let round = 0;
      while (writing) {
        round += 1;
        const rows = await commitRows(
          source.pool,
          keys.filter((_, index) => (index + round) % 3 !== 0),
          versions,
        );
        committed += rows.length;
        await sleep(10);
      }
    });

    try {
      for (let kill = 1; kill <= 10; kill += 1) {
        current = spawnRelay(env, await freePort());
        const relay = current;
        await waitFor(
          async () => (await probe(relay.port, '/ready')).status === 200,
          () => `relay #${kill} to stream: ${relay.output.join('').slice(-2_000)}`,
          30_000,
        );
        const seen = collector.messages.length;
        await waitFor(() => collector.messages.length > seen, `relay #${kill} to publish`, 20_000);
        await sleep(100 + Math.random() * 500);
        relay.child.kill('SIGKILL');
        await relay.exited;
      }
      writing = false;
      await Promise.all(writers);

      current = spawnRelay(env, await freePort());
      const { rows } = await source.pool.query<{ id: string }>(`SELECT id FROM outbox`);
      const ids = new Set(rows.map((row) => row.id));
      expect(ids.size).toBe(committed);
      await waitFor(
        () => new Set(collector.messages.map((message) => message.id)).size >= ids.size,
        () =>
          `every outbox id in Kafka after the last restart: ${new Set(collector.messages.map((message) => message.id)).size}/${ids.size}`,
        60_000,
      );
      current.child.kill('SIGTERM');
      expect(await current.exited).toBe(0);

      expectAllInKafka(ids, collector.messages);
      expectVersionsInOrder(collector.messages);
      const report = checkDelivery(collector.messages);
      console.log(
        `[relay crash test] ${ids.size} outbox rows, ${collector.messages.length} Kafka messages: ${report.duplicates} duplicates ` +
          `in ${report.replays} replayed runs (longest ${report.longestReplay}) after 10 SIGKILLs`,
      );
      expect(report.violations).toEqual([]);
    } finally {
      writing = false;
      await Promise.all(writers);
      await collector.stop();
    }
  }, 240_000);
});
