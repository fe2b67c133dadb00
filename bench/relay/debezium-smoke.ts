/**
 * Checks the Debezium baseline end to end on the ephemeral stack, at both of the bench's settings (Debezium's
 * defaults, then poll.interval.ms 20), in bench:relay's order: on a pre-created slot, live rows while Debezium runs,
 * a stop, a backlog of BENCH_EVENTS rows, a restart on the same slot and a timed drain. Then it reads both topics
 * back and requires every row exactly once (none repeated by the restart), with key = aggregateid, value = the
 * payload's JSON text, header id = the outbox id and the CloudEvents headers our relay writes; last, that a missing publication is refused with its reason.
 * Exits 1 on any mismatch.
 *
 *   node scripts/with-node.mjs node --import tsx bench/relay/debezium-smoke.ts      (BENCH_EVENTS, default 10000)
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { loadConfig } from '@settle/config';
import { createPool, ensureDatabase, migrate, type Pool } from '@settle/db';
import { createKafka, ensureTopics } from '@settle/kafka';
import { startStack } from '@settle/stack';
import { DEBEZIUM_DEFAULTS, DEBEZIUM_LOW_LATENCY, dropDebeziumSlot, type RunningDebezium, startDebezium } from './debezium';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 10_000);
const PARTITIONS = 6;
const PUBLICATION = 'settle_outbox_pub';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** bench/relay/run.ts's rows (~330-byte payloads): `$1` rows of aggregatetype `$3` whose order_version runs from `$2 + 1`. */
const INSERT_SQL = `
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, order_version)
SELECT gen_random_uuid(), $3::text, 'order-' || ((($2::int + n) % 1000)), 'order.updated',
       jsonb_build_object('orderId', 'order-' || ((($2::int + n) % 1000)), 'orderVersion', $2::int + n, 'status', 'PAID',
                          'amount', '1234.50', 'currency', 'EUR', 'asset', 'USDT', 'cryptoAmount', '1337.000000',
                          'buyer', md5(n::text), 'seller', md5((n + 1)::text), 'paymentReference', md5((n + 2)::text),
                          'note', repeat('x', 120)),
       $2::int + n
  FROM generate_series(1, $1::int) AS n`;

interface Sent {
  aggregateid: string;
  payload: string;
}

/** Commits `count` rows of `aggregatetype` from order_version `offset + 1`, 5,000 per transaction. */
async function writeRows(pool: Pool, count: number, offset: number, aggregatetype: string): Promise<void> {
  for (let done = 0; done < count; done += 5_000)
    await pool.query(INSERT_SQL, [Math.min(5_000, count - done), offset + done, aggregatetype]);
}

async function main(): Promise<void> {
  const stack = await startStack({ config: loadConfig({ LOG_LEVEL: 'warn', ...process.env }), mode: 'ephemeral', onProgress: say });
  let failed = false;
  const report = (what: string, problems: string[]): void => {
    say(
      `  ${what}: ${problems.length === 0 ? 'every row once, with key, value and id header as in the outbox' : `${problems.length} problems:`}`,
    );
    for (const problem of problems.slice(0, 10)) say(`    ${problem}`);
    if (problems.length > 0) failed = true;
  };
  try {
    const suffix = randomBytes(4).toString('hex');
    const url = await ensureDatabase(stack.databaseUrl, `debezium_smoke_${suffix}`);
    await migrate(url);
    const pool = createPool(url, { max: 4 });
    const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'debezium-smoke' });
    try {
      const runs = [
        { name: 'defaults', settings: DEBEZIUM_DEFAULTS },
        { name: 'poll.interval.ms=20', settings: DEBEZIUM_LOW_LATENCY },
      ];
      const live = Math.ceil(EVENTS / 10);
      for (const [index, run] of runs.entries()) {
        // As the bench runs it: rows routed by aggregatetype; live rows while Debezium runs, a stop, a backlog, a restart.
        const slot = `debezium_smoke_${suffix}_${index}`;
        const prefix = `debezium-smoke.${suffix}.${index}`;
        await ensureTopics(kafka, [
          { topic: `${prefix}.live`, numPartitions: PARTITIONS },
          { topic: `${prefix}.backlog`, numPartitions: PARTITIONS },
        ]);
        await pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
        const start = (): Promise<RunningDebezium> =>
          startDebezium({
            databaseUrl: url,
            brokers: stack.kafkaBrokers,
            topic: `${prefix}.\${routedByValue}`,
            slot,
            publication: PUBLICATION,
            settings: run.settings,
            onProgress: (line) => say(`  ${line}`),
            onLog: (line) => process.stderr.write(`  [debezium] ${line}\n`),
          });

        const liveOffset = index * (EVENTS + live);
        let debezium = await start();
        await writeRows(pool, live, liveOffset, 'live');
        await waitForCount(kafka, `${prefix}.live`, live, () => debezium.failure());
        await debezium.stop();
        const behind = await pool.query<{ bytes: string }>(
          `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS bytes FROM pg_replication_slots WHERE slot_name = $1`,
          [slot],
        );
        say(`  after the stop the slot's confirmed position is ${behind.rows[0]?.bytes ?? '?'} bytes behind the WAL`);

        const backlogOffset = liveOffset + live;
        await writeRows(pool, EVENTS, backlogOffset, 'backlog');
        const began = Date.now();
        debezium = await start();
        const streaming = Date.now();
        const { first, half, drained } = await waitForCount(kafka, `${prefix}.backlog`, EVENTS, () => debezium.failure());
        await debezium.stop();
        await dropDebeziumSlot(pool, slot);

        const rate = (events: number, ms: number): string => Math.round((events * 1000) / Math.max(1, ms)).toLocaleString('en-US');
        say(
          `debezium ${run.name}: ${EVENTS} backlog events drained ${((drained - began) / 1000).toFixed(2)} s after the restart ` +
            `(streaming after ${streaming - began} ms, first event in Kafka ${first - streaming} ms later, then ${rate(EVENTS, drained - first)} events/s; ` +
            `second half ${rate(EVENTS - Math.ceil(EVENTS / 2), drained - half)} events/s)`,
        );
        report(`${live} live events`, await verify(kafka, `${prefix}.live`, await sentRows(pool, liveOffset, live)));
        report(
          `${EVENTS} backlog events after the restart`,
          await verify(kafka, `${prefix}.backlog`, await sentRows(pool, backlogOffset, EVENTS)),
        );
      }

      const refused = await startDebezium({
        databaseUrl: url,
        brokers: stack.kafkaBrokers,
        topic: 'debezium-smoke.unused',
        slot: `debezium_smoke_${suffix}_refused`,
        publication: 'settle_no_such_pub',
        settings: {},
      }).then(
        async (running) => {
          await running.stop();
          return 'started';
        },
        (error: unknown) => String(error),
      );
      const named = refused.includes('Publication autocreation is disabled');
      say(`a missing publication: ${named ? 'refused, and the error names why' : `not refused as expected: ${refused}`}`);
      if (!named) failed = true;
      await dropDebeziumSlot(pool, `debezium_smoke_${suffix}_refused`);
    } finally {
      await pool.end();
    }
  } finally {
    await stack.stop();
  }
  if (failed) process.exit(1);
}

async function sentRows(pool: Pool, offset: number, count: number): Promise<Map<string, Sent>> {
  const rows = await pool.query<Sent & { id: string }>(
    `SELECT id, aggregateid, payload::text AS payload FROM outbox WHERE order_version > $1 AND order_version <= $2`,
    [offset, offset + count],
  );
  return new Map(rows.rows.map((row) => [row.id, { aggregateid: row.aggregateid, payload: row.payload }]));
}

/**
 * Waits until the topic's partitions hold `count` messages (the sum of their high-water marks); returns when the
 * first message, half of them and all of them were there.
 */
async function waitForCount(
  kafka: Kafka,
  topic: string,
  count: number,
  failure: () => Error | undefined,
): Promise<{ first: number; half: number; drained: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 300_000;
    let first = 0;
    let half = 0;
    for (;;) {
      const offsets = await admin.fetchTopicOffsets(topic);
      const total = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
      const now = Date.now();
      if (first === 0 && total > 0) first = now;
      if (half === 0 && total >= count / 2) half = now;
      if (total >= count) return { first, half, drained: now };
      const crashed = failure();
      if (crashed !== undefined) throw crashed;
      if (Date.now() > deadline) throw new Error(`only ${total} of ${count} events reached ${topic} in 5 minutes`);
      await sleep(20);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Reads the whole topic and lists every difference from the outbox rows: missing, duplicated, foreign or altered. */
async function verify(kafka: Kafka, topic: string, expected: Map<string, Sent>): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Set<string>();
  let total = 0;
  const consumer = kafka.consumer({ groupId: `debezium-smoke-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        total += 1;
        const id = message.headers?.['id']?.toString();
        const row = id === undefined ? undefined : expected.get(id);
        if (id === undefined || row === undefined) problems.push(`message at offset ${message.offset} has no known id header (${id})`);
        else if (seen.has(id)) problems.push(`event ${id} arrived twice`);
        else {
          seen.add(id);
          if (message.key?.toString() !== row.aggregateid)
            problems.push(`event ${id}: key ${message.key?.toString()} ≠ ${row.aggregateid}`);
          if (message.value?.toString() !== row.payload) problems.push(`event ${id}: value ${message.value?.toString()} ≠ ${row.payload}`);
          // The CloudEvents headers the launcher adds to match our relay's records, and none of its helper headers.
          const header = (name: string): string | undefined => message.headers?.[name]?.toString();
          if (header('ce_id') !== id || header('ce_subject') !== row.aggregateid || !/^\/settle\/\w+s$/.test(header('ce_source') ?? ''))
            problems.push(
              `event ${id}: CloudEvents headers ${JSON.stringify({ id: header('ce_id'), subject: header('ce_subject'), source: header('ce_source') })}`,
            );
          if (Number.isNaN(Date.parse(header('ce_time') ?? ''))) problems.push(`event ${id}: ce_time ${header('ce_time')} is not a time`);
          if (header('aggregatetype') !== undefined || header('createdAt') !== undefined) problems.push(`event ${id}: helper headers sent`);
        }
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + 60_000;
    while (total < expected.size && Date.now() < deadline) await sleep(50);
    await sleep(500); // anything beyond the expected count (a duplicate) arrives in this time too
  } finally {
    await consumer.disconnect();
  }
  for (const id of expected.keys()) if (!seen.has(id)) problems.push(`event ${id} never arrived`);
  return problems;
}

main().catch((error: unknown) => {
  process.stderr.write(`debezium smoke failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
