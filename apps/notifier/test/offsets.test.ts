import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@settle/db';
import { createKafka } from '@settle/kafka';
import { createTestDatabase, testStack, type TestDatabase } from '@settle/testkit';
import { AssignerProtocol, type Admin } from 'kafkajs';
import { startNotifier, type Notifier } from '../src/notifier';
import { connectClient, createTopics, eventProducer, type EventProducer, OrderStory, testConfig, tokenFor, waitFor } from './support';

describe('offset commits', () => {
  let db: TestDatabase;
  let pool: Pool;
  let topic: string;
  let producer: EventProducer;
  let admin: Admin;
  const running: Notifier[] = [];
  const group = `settle-notifier-offsets-${Date.now().toString(36)}`;

  beforeAll(async () => {
    db = await createTestDatabase('notifier_offsets');
    pool = createPool(db.url, { max: 2 });
    ({ events: topic = '' } = await createTopics('notifier-offsets', [{ name: 'events', numPartitions: 1 }]));
    producer = await eventProducer();
    admin = createKafka({ brokers: testStack().kafkaBrokers, clientId: 'offsets-test' }).admin();
    await admin.connect();
  });

  afterAll(async () => {
    for (const notifier of running) await notifier.stop().catch(() => undefined);
    await admin?.disconnect();
    await producer?.disconnect();
    await pool?.end();
    await db?.drop();
  });

  const committed = async (): Promise<string | undefined> =>
    (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions[0]?.offset;
  const start = async (commitIntervalMs: string): Promise<Notifier> => {
    const notifier = await startNotifier({
      config: testConfig(db.url, topic, { NOTIFIER_GROUP_ID: group, NOTIFIER_COMMIT_INTERVAL_MS: commitIntervalMs }),
      port: 0,
      host: '127.0.0.1',
    });
    running.push(notifier);
    return notifier;
  };

  it('commits handled offsets at most once per interval and all of them on shutdown; the next member goes on from there', async () => {
    const first = await start('60000');
    const client = await connectClient(first.port, await tokenFor('merchant', 'm-offsets'));
    const story = await OrderStory.completedBuy(pool, 'u-offsets', 'm-offsets');
    await producer.publish(topic, story.events);
    await waitFor(() => client.shown.length === 5, 'five notifications');
    client.close();
    // Handled and emitted, but the interval has not passed: nothing is committed yet.
    expect(await committed()).toBe('-1');

    await first.stop();
    running.splice(running.indexOf(first), 1);
    expect(await committed()).toBe('5');

    // A member that commits after every chunk starts at offset 5: it writes no row for the first five events.
    const second = await start('0');
    const next = await OrderStory.create(pool, { type: 'buy', merchantId: 'm-offsets' }, { role: 'user', id: 'u-offsets' });
    await producer.publish(topic, next.events);
    await waitFor(async () => (await committed()) === '6', 'offset 6 committed right after the sixth event', 20_000);
    const rows = await pool.query<{ seq: string; order_id: string }>(
      `SELECT seq, order_id FROM notifications WHERE recipient = 'merchant:m-offsets' ORDER BY seq`,
    );
    expect(rows.rows.map((row) => [Number(row.seq), row.order_id])).toEqual([
      ...[1, 2, 3, 4, 5].map((seq) => [seq, story.order.id]),
      [6, next.order.id],
    ]);
    await second.stop();
    running.splice(running.indexOf(second), 1);
  });

  it('after a rebalance, commits on shutdown only the partitions it kept', async () => {
    const rebalanced = `${group}-rebalance`;
    const { events: wide = '' } = await createTopics('notifier-offsets-wide', [{ name: 'events', numPartitions: 4 }]);
    const start4 = async (): Promise<Notifier> => {
      const notifier = await startNotifier({
        config: testConfig(db.url, wide, {
          NOTIFIER_GROUP_ID: rebalanced,
          NOTIFIER_COMMIT_INTERVAL_MS: '60000',
          ORDER_EVENTS_PARTITIONS: '4',
        }),
        port: 0,
        host: '127.0.0.1',
      });
      running.push(notifier);
      return notifier;
    };
    /** memberId → the partitions it holds now. */
    const assignment = async (): Promise<Map<string, number[]>> => {
      const [description] = (await admin.describeGroups([rebalanced])).groups;
      return new Map(
        (description?.members ?? []).map((member) => [
          member.memberId,
          AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[wide] ?? [],
        ]),
      );
    };
    const committedPartitions = async (): Promise<number[]> =>
      ((await admin.fetchOffsets({ groupId: rebalanced, topics: [wide] }))[0]?.partitions ?? [])
        .filter((partition) => partition.offset !== '-1')
        .map((partition) => partition.partition)
        .sort();

    // One notifier (two group members) handles an event on each of the 4 partitions; nothing is committed yet.
    const first = await start4();
    const stories: OrderStory[] = [];
    for (const index of [0, 1, 2, 3])
      stories.push(await OrderStory.create(pool, { type: 'buy', merchantId: `m-wide-${index}` }, { role: 'user', id: `u-wide-${index}` }));
    await producer.send({
      topic: wide,
      acks: -1,
      messages: stories.map((story, partition) => ({ partition, key: story.order.id, value: JSON.stringify(story.events[0]) })),
    });
    await waitFor(
      async () => (await pool.query(`SELECT 1 FROM notifications WHERE recipient LIKE 'merchant:m-wide-%'`)).rowCount === 4,
      'the four events handled',
    );
    const firstMembers = [...(await assignment()).keys()];
    expect(firstMembers).toHaveLength(2);

    // A second notifier joins: four members, one partition each, so the first keeps two of its four.
    await start4();
    await waitFor(
      async () => (await assignment()).size === 4 && [...(await assignment()).values()].every((partitions) => partitions.length === 1),
      'four members with a partition each',
      30_000,
    );
    const now = await assignment();
    const kept = firstMembers.flatMap((member) => now.get(member) ?? []);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the members' GROUP_JOIN follows their sync
    await first.stop();
    running.splice(running.indexOf(first), 1);
    expect(kept).toHaveLength(2);
    expect(await committedPartitions()).toEqual([...kept].sort());
  }, 90_000);
});
