import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@settle/db';
import { createKafka } from '@settle/kafka';
import { freePort } from '@settle/stack';
import { createTestDatabase, testStack, type TestDatabase } from '@settle/testkit';
import { connectClient, createTopics, eventProducer, JWT_SECRET, OrderStory, sleep, tokenFor, waitFor, type TestClient } from './support';
import { CONSUMERS_PER_PROCESS } from '../src/notifier';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
const REDIS_URL = 'redis://127.0.0.1:6379';

describe('two notifier processes in one consumer group with the Redis adapter', () => {
  let db: TestDatabase;
  let pool: Pool;
  let topic: string;
  const groupId = `settle-notifier-scale-${randomBytes(3).toString('hex')}`;
  const nodes: Array<{ child: ChildProcess; port: number; log: string[] }> = [];
  let producer: Awaited<ReturnType<typeof eventProducer>>;

  beforeAll(async () => {
    db = await createTestDatabase('notifier_scale');
    pool = createPool(db.url, { max: 3 });
    ({ events: topic = '' } = await createTopics('notifier', [{ name: 'events', numPartitions: 4 }]));
    const key = `settle-notifier-test-${randomBytes(4).toString('hex')}`;
    for (let index = 0; index < 2; index += 1) {
      const port = await freePort();
      const log: string[] = [];
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
        env: {
          PATH: process.env['PATH'],
          NODE_ENV: 'test',
          LOG_LEVEL: 'warn',
          DATABASE_URL: db.url,
          KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
          ORDER_EVENTS_TOPIC: topic,
          ORDER_EVENTS_PARTITIONS: '4',
          NOTIFIER_PORT: String(port),
          NOTIFIER_GROUP_ID: groupId,
          NOTIFIER_REDIS_KEY: key,
          NOTIFIER_DLT_MIRROR: '0',
          REDIS_URL,
          JWT_SECRET,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
      nodes.push({ child, port, log });
    }
    for (const node of nodes) {
      await waitFor(
        async () => {
          try {
            return (await fetch(`http://127.0.0.1:${node.port}/ready`)).status === 200;
          } catch {
            return false;
          }
        },
        `notifier on ${node.port} ready (log: ${node.log.join('')})`,
        60_000,
      );
    }
    // Every member (CONSUMERS_PER_PROCESS per process) holds a partition before any event is produced.
    const admin = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'scale-test' }).admin();
    await admin.connect();
    try {
      await waitFor(
        async () => {
          const { groups } = await admin.describeGroups([groupId]);
          return groups[0]?.state === 'Stable' && groups[0].members.length === 2 * CONSUMERS_PER_PROCESS;
        },
        `a stable group of ${2 * CONSUMERS_PER_PROCESS}`,
        60_000,
      );
    } finally {
      await admin.disconnect();
    }
    producer = await eventProducer();
  }, 180_000);

  afterAll(async () => {
    await producer?.disconnect();
    for (const node of nodes) {
      const exited = new Promise((resolve) => node.child.once('exit', resolve));
      node.child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (node.child.exitCode === null) node.child.kill('SIGKILL');
    }
    await pool?.end();
    await db?.drop();
  });

  it('a socket on either node receives its events, whichever node consumed them, each once and in seq order', async () => {
    const clients: TestClient[] = [];
    try {
      const a = await connectClient(nodes[0]!.port, await tokenFor('merchant', 'm-node-a'));
      const b = await connectClient(nodes[1]!.port, await tokenFor('merchant', 'm-node-b'));
      clients.push(a, b);
      // Many orders so their keys spread over all four partitions, i.e. over both nodes.
      const stories: OrderStory[] = [];
      for (let index = 0; index < 12; index += 1)
        stories.push(await OrderStory.completedBuy(pool, `u-scale-${index}`, index % 2 === 0 ? 'm-node-a' : 'm-node-b'));
      await producer.publish(
        topic,
        stories.flatMap((story) => story.events),
      );
      await waitFor(
        () => a.shown.length === 30 && b.shown.length === 30,
        // At the timeout: what each socket got, and what each node logged (warnings and errors).
        () =>
          `30 notifications each (a ${a.shown.length}, b ${b.shown.length}); node logs:\n${nodes.map((node, index) => `[node ${index}] ${node.log.join('').slice(-3_000)}`).join('\n')}`,
        30_000,
      );
      await sleep(300);
      for (const [client, merchant] of [
        [a, 'm-node-a'],
        [b, 'm-node-b'],
      ] as const) {
        expect(client.raw).toHaveLength(30);
        // Whichever node stored them, and in whatever order the nodes' emits met: each seq once, in order.
        expect(client.raw.map((n) => n.seq)).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));
        expect(client.raw.every((n) => n.order.merchantId === merchant)).toBe(true);
      }
      // Acks travel back through the adapter: every merchant row is marked delivered.
      await waitFor(
        async () =>
          (await pool.query(`SELECT 1 FROM notifications WHERE recipient LIKE 'merchant:m-node-%' AND delivered_at IS NULL`)).rowCount ===
          0,
        'delivered_at on every merchant row',
      );
      // Both nodes consumed events, so each socket got some of its events from the other node.
      for (const node of nodes) {
        const metrics = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
        const processed = Number(/^settle_notifier_events_processed_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
        expect(processed).toBeGreaterThan(0);
      }
    } finally {
      for (const client of clients) client.close();
    }
  });
});
