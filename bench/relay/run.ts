/**
 * `npm run bench:relay`: our WAL relay against Debezium 3.6.1.Final embedded, the poll relay and a raw kafkajs
 * producer, on the same Postgres server, outbox rows and Kafka broker, in alternating rounds.
 *
 * Each contender runs as a process of its own, on a database of its own (same migrations), and for each round:
 *   steady  2,000 single-row transactions/s for BENCH_STEADY_SECONDS (after a 3 s warm-up): commit → Kafka ack (the
 *           broker's LogAppendTime) and commit → visible to one kafkajs consumer, p50/p99 over every event; CPU per
 *           1k events of the contender's process and of the broker (/proc);
 *   drain   BENCH_EVENTS rows committed while it is stopped, then started: seconds from process start until Kafka has
 *           them all, events/s from the first to the last, CPU per 1k events of the contender (from its start, and
 *           while draining) and of the broker.
 * The raw producer sends the same messages (drain) and a paced stream at the same rate straight from this process
 * (steady): the floor of what any relay can do through the same consumer. The summary checks issue #18's goals.
 * Before round 1 every contender warms the broker, measured nowhere; each steady window also prints the broker's CPU
 * by thread (jcmd) and our relay's commit → received → ack split (its /metrics); BENCH_BROKER_PROFILE=<dir> records
 * the broker with Flight Recorder in every steady window and prints its hottest methods.
 *
 * Sizes: BENCH_EVENTS (100000), BENCH_STEADY_SECONDS (15), BENCH_ROUNDS (2), BENCH_CONTENDERS (keys, comma-separated:
 * settle_latency, debezium_20ms, settle_throughput, debezium_defaults, poll). RELAY_* variables reach our relay's
 * processes (e.g. RELAY_LINGER_MS=10 to try another latency setting; a contender's own settings win).
 * Starts its own ephemeral stack (embedded Postgres + Kafka) unless DATABASE_URL / KAFKA_BROKERS are set.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Kafka, Partitioners } from 'kafkajs';
import { loadConfig } from '@settle/config';
import { createKafka, ensureTopics } from '@settle/kafka';
import { createTopicRouter, type OutboundRecord, type OutboxRow, toOutboundRecord } from '@settle/relay';
import { startStack } from '@settle/stack';
import { waitFor } from '@settle/testkit';
import { brokerPid, cpuSnapshot, type CpuSnapshot, wakeupCostUs } from '../cpu';
import { recordBroker, threadCpu, watchBroker } from './broker';
import { describeSplit, scrapeMetrics } from './split';
import { reportFigures, type Figure } from '../summary';
import { type Contender, type Lane, laneFor, contenders } from './contenders';
import { steadyLoad, writeBacklog } from './load';
import { percentiles, Visibility } from './visibility';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 100_000);
const STEADY_SECONDS = Number(process.env['BENCH_STEADY_SECONDS'] ?? 15);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const ONLY = process.env['BENCH_CONTENDERS']?.split(',').map((key) => key.trim());
const RATE = 2_000;
const WARM_UP_SECONDS = 3;
/** Each contender's share of the broker's warm-up before round 1 (3 s left the JIT compiling in the first window). */
const BROKER_WARM_UP_SECONDS = 10;
const PARTITIONS = 6;
/** The relay's request limits, for the raw producer's batches. */
const BATCH_EVENTS = 5_000;
const BATCH_BYTES = 900_000;
const RAW = 'raw';
/** BENCH_BROKER_PROFILE=<dir>: a Java Flight Recorder recording of the broker in each steady window. */
const BROKER_PROFILE = process.env['BENCH_BROKER_PROFILE'];
/** The broker this bench started (none when KAFKA_BROKERS points elsewhere). */
let broker: number | undefined;

const say = (line: string): void => void process.stdout.write(`${line}\n`);

interface Steady {
  events: number;
  recordBatches: number;
  cpuMs: number;
  brokerMs: number;
  postgresMs: number;
  ack: { p50: number; p99: number };
  visible: { p50: number; p99: number };
  /** Where the broker's CPU went (bench/relay/broker.ts). */
  broker: string;
  /** Our relay's commit → ack split where it received each event (bench/relay/split.ts). */
  split?: string;
}

interface Drain {
  /** From process start (or the first send) until Kafka had every event. */
  totalMs: number;
  /** From the first event in Kafka to the last. */
  drainMs: number;
  cpuFromStartMs: number;
  cpuDrainingMs: number;
  brokerMs: number;
}

interface Result {
  steady: Steady;
  drain: Drain;
}

async function main(): Promise<void> {
  say(`relay benchmark: an idle Node timer wakeup costs ${(await wakeupCostUs()).toFixed(0)} µs of CPU here (bench/cpu.ts wakeupCostUs)`);
  const stack = await startStack({
    config: loadConfig({ LOG_LEVEL: 'warn', ...process.env }),
    mode: 'ephemeral',
    onProgress: (line) => say(`  ${line}`),
  });
  broker = brokerPid();
  // The first attach starts the broker's attach listener (~0.3 s of its CPU), the first recording Flight Recorder:
  // both here, outside every window.
  if (broker !== undefined) await threadCpu(broker);
  if (broker !== undefined && BROKER_PROFILE !== undefined) await (await recordBroker(broker, BROKER_PROFILE, 'startup'))?.stop();
  const suffix = randomBytes(3).toString('hex');
  const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'relay-bench' });
  const admin = kafka.admin();
  await admin.connect();
  const lanes = new Map<string, Lane>();
  let visibility: Visibility | undefined;
  try {
    const chosen = contenders().filter((contender) => ONLY === undefined || ONLY.includes(contender.key));
    for (const contender of chosen) lanes.set(contender.key, await laneFor(stack.databaseUrl, contender.key, suffix, stack.kafkaBrokers));
    // The raw producer's database has no slot: its rows load Postgres like a contender's, and nobody relays them.
    const rawLane = await laneFor(stack.databaseUrl, RAW, suffix, stack.kafkaBrokers);
    lanes.set(RAW, rawLane);
    await writeBacklog(rawLane.pool, EVENTS, 1);
    const prefixes = [...lanes.values()].map((lane) => lane.prefix);
    await ensureTopics(
      kafka,
      prefixes.flatMap((prefix) =>
        ['order', 'backlog'].map((kind) => ({
          topic: `${prefix}.${kind}`,
          numPartitions: PARTITIONS,
          // The broker stamps each record when it appends it, which with acks=all on one broker is the ack.
          config: { 'message.timestamp.type': 'LogAppendTime' },
        })),
      ),
    );
    for (const contender of chosen) await contender.prepare(lanes.get(contender.key) as Lane);
    visibility = await Visibility.start(
      stack.kafkaBrokers,
      prefixes.map((prefix) => `${prefix}.order`),
    );
    say(
      `  ${os.cpus().length} cores, load average ${loadAverage()}; ${EVENTS} events per backlog, ${RATE}/s for ${STEADY_SECONDS} s steady, ${ROUNDS} rounds, ${PARTITIONS} partitions\n`,
    );

    const results = new Map<string, Result[]>();
    const warmedFrom = 1;
    let seq = await warmUpBroker(chosen, lanes, visibility, warmedFrom);
    say(`  broker warmed up with ${seq - warmedFrom} events from the contenders, measured nowhere\n`);
    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const contender of chosen) {
        const lane = lanes.get(contender.key) as Lane;
        const result = await runContender(contender, lane, admin, visibility, seq, round);
        seq += EVENTS + RATE * (STEADY_SECONDS + WARM_UP_SECONDS + 5);
        say(`round ${round} ${contender.name}: ${describe(result)}`);
        push(results, contender.key, result);
      }
      const raw = await runRaw(kafka, admin, visibility, rawLane, seq, round);
      seq += EVENTS + RATE * (STEADY_SECONDS + WARM_UP_SECONDS + 5);
      say(`round ${round} raw kafkajs producer: ${describe(raw)}`);
      push(results, RAW, raw);
      say('');
    }
    summarise(chosen, results);
  } finally {
    await visibility?.stop().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    for (const contender of contenders()) {
      const lane = lanes.get(contender.key);
      if (lane !== undefined) await contender.cleanUp(lane);
    }
    for (const lane of lanes.values()) await lane.pool.end();
    await stack.stop();
  }
}

/** Commits `seconds` of the steady load into `lane` from `firstSeq` and waits until the consumer saw all of it. */
async function delivered(contender: Contender, lane: Lane, visibility: Visibility, seconds: number, firstSeq: number): Promise<number> {
  const sent = await steadyLoad(lane.pool, { perSecond: RATE, seconds, firstSeq }, visibility.committed);
  await waitFor(
    () => visibility.count >= sent,
    () => `${contender.name} to deliver ${sent} events (${visibility.count} seen)`,
    120_000,
  );
  return sent;
}

/**
 * The broker's warm-up, measured nowhere: each contender sends BROKER_WARM_UP_SECONDS of the steady load, so the
 * broker's JIT has compiled the code every client's requests take before the first window (without it the first
 * contender of round 1 paid ~58 ms of C1 compiler threads per 1k events in its window, on 2026-12-07).
 */
async function warmUpBroker(contenders: Contender[], lanes: Map<string, Lane>, visibility: Visibility, firstSeq: number): Promise<number> {
  let seq = firstSeq;
  for (const contender of contenders) {
    const lane = lanes.get(contender.key) as Lane;
    const running = await contender.start(lane);
    visibility.open();
    seq += await delivered(contender, lane, visibility, BROKER_WARM_UP_SECONDS, seq);
    visibility.close();
    await running.stop();
  }
  return seq;
}

/** One round of one contender: steady load (warm-up first), stop, backlog, start, drain, stop. */
async function runContender(
  contender: Contender,
  lane: Lane,
  admin: ReturnType<Kafka['admin']>,
  visibility: Visibility,
  firstSeq: number,
  round: number,
): Promise<Result> {
  let running = await contender.start(lane);
  let seq = firstSeq;
  const load = async (seconds: number): Promise<number> => {
    const sent = await delivered(contender, lane, visibility, seconds, seq);
    seq += sent;
    return sent;
  };
  visibility.open();
  await load(WARM_UP_SECONDS);
  visibility.close();

  visibility.open();
  const roles = { contender: running.pid };
  const brokerWindow = await watchBroker(broker, BROKER_PROFILE, `${contender.key}-round${round}`);
  const metricsBefore = await scrapeMetrics(running.metricsUrl);
  const before = cpuSnapshot(roles);
  const events = await load(STEADY_SECONDS);
  const after = cpuSnapshot(roles);
  const window = visibility.close();
  const metricsAfter = await scrapeMetrics(running.metricsUrl);
  const brokerLine = await brokerWindow.finish(events);
  const steady: Steady = {
    events,
    recordBatches: window.recordBatches,
    cpuMs: used(before, after, 'contender'),
    brokerMs: used(before, after, 'kafka'),
    postgresMs: used(before, after, 'postgres'),
    ack: percentiles(window.toAck),
    visible: percentiles(window.toVisible),
    broker: brokerLine,
    ...(metricsBefore !== undefined && metricsAfter !== undefined ? { split: describeSplit(metricsBefore, metricsAfter) } : {}),
  };
  await running.stop();

  const topic = `${lane.prefix}.backlog`;
  const base = await messagesIn(admin, topic);
  await writeBacklog(lane.pool, EVENTS, seq);
  const drain = await timeDrain(admin, topic, base, async () => {
    running = await contender.start(lane);
    return running.pid;
  });
  await running.stop();
  return { steady, drain };
}

/**
 * Calls `start`, then waits until `topic` holds EVENTS more messages than `base`. Times from the call, from the
 * first new message to the last, and the CPU of the started process (from its start and while draining) and broker.
 */
async function timeDrain(
  admin: ReturnType<Kafka['admin']>,
  topic: string,
  base: number,
  start: () => Promise<number | null>,
): Promise<Drain> {
  const began = Date.now();
  const before = cpuSnapshot({});
  const pid = await start();
  const roles = { contender: pid ?? undefined };
  let first: { at: number; cpu: CpuSnapshot } | undefined;
  await waitFor(
    async () => {
      const count = (await messagesIn(admin, topic)) - base;
      // Seen whole at the first look (the raw producer sends its backlog inside start()): no first event to time from.
      if (first === undefined && count > 0 && count < EVENTS) first = { at: Date.now(), cpu: cpuSnapshot(roles) };
      return count >= EVENTS;
    },
    `${EVENTS} events in ${topic}`,
    600_000,
  );
  const done = Date.now();
  const after = cpuSnapshot(roles);
  const firstSeen = first ?? { at: began, cpu: before };
  return {
    totalMs: done - began,
    drainMs: Math.max(1, done - firstSeen.at),
    cpuFromStartMs: after.get('contender') ?? 0,
    cpuDrainingMs: used(firstSeen.cpu, after, 'contender'),
    brokerMs: used(before, after, 'kafka'),
  };
}

/**
 * The floor: the relay's messages (the rows of `lane`'s outbox as the relay turns them into messages) sent by one
 * idempotent producer in this process. While it sends at the steady rate, the same single-row transactions are
 * committed into `lane`'s outbox (which no slot reads), so the machine carries the database load a relay's run has.
 */
async function runRaw(
  kafka: Kafka,
  admin: ReturnType<Kafka['admin']>,
  visibility: Visibility,
  lane: Lane,
  firstSeq: number,
  round: number,
): Promise<Result> {
  const prefix = lane.prefix;
  const rows = await lane.pool.query<OutboxRow>(
    `SELECT id, aggregatetype, aggregateid, type, payload::text AS payload, headers::text AS headers, order_version, created_at
       FROM outbox WHERE aggregatetype = 'backlog' LIMIT $1`,
    [EVENTS],
  );
  const route = createTopicRouter(`${prefix}.order`, { backlog: `${prefix}.backlog` });
  const records = rows.rows.map((row) => toOutboundRecord(row, '0/16B3748', route));
  while (records.length < EVENTS && records.length > 0) records.push(...records.slice(0, EVENTS - records.length));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    // Steady: every message due by now goes out as soon as the previous request is acknowledged (no linger).
    const template = records[0];
    if (template === undefined) throw new Error('no outbox rows to copy for the raw producer');
    const paced = async (seconds: number, seqFrom: number): Promise<number> => {
      const began = Date.now();
      let sent = 0;
      const total = RATE * seconds;
      while (sent < total) {
        const due = Math.min(total, Math.floor(((Date.now() - began) * RATE) / 1000));
        if (due <= sent) {
          await sleep(1);
          continue;
        }
        const now = Date.now();
        const messages = [];
        for (; sent < due; sent += 1) {
          const seq = seqFrom + sent;
          visibility.committed(seq, now);
          const value = JSON.stringify({ ...(JSON.parse(template.message.value) as object), seq });
          messages.push({ ...template.message, key: `order-${seq % 1000}`, value });
        }
        await producer.send({ topic: `${prefix}.order`, acks: -1, messages });
      }
      await waitFor(() => visibility.count >= total, 'the raw producer events to be visible', 60_000);
      return total;
    };
    const withDatabaseLoad = async (seconds: number, seqFrom: number): Promise<number> => {
      const [sent] = await Promise.all([
        paced(seconds, seqFrom),
        steadyLoad(lane.pool, { perSecond: RATE, seconds, firstSeq: seqFrom }, () => undefined),
      ]);
      return sent;
    };
    visibility.open();
    await withDatabaseLoad(WARM_UP_SECONDS, firstSeq);
    visibility.close();
    visibility.open();
    const brokerWindow = await watchBroker(broker, BROKER_PROFILE, `raw-round${round}`);
    const before = cpuSnapshot({});
    const events = await withDatabaseLoad(STEADY_SECONDS, firstSeq + RATE * WARM_UP_SECONDS);
    const after = cpuSnapshot({});
    const window = visibility.close();
    const brokerLine = await brokerWindow.finish(events);
    const steady: Steady = {
      events,
      recordBatches: window.recordBatches,
      cpuMs: Number.NaN,
      brokerMs: used(before, after, 'kafka'),
      postgresMs: Number.NaN,
      ack: percentiles(window.toAck),
      visible: percentiles(window.toVisible),
      broker: brokerLine,
    };

    const topic = `${prefix}.backlog`;
    const base = await messagesIn(admin, topic);
    const drain = await timeDrain(admin, topic, base, async () => {
      let index = 0;
      while (index < records.length) {
        let bytes = 0;
        let end = index;
        while (end < records.length && end - index < BATCH_EVENTS) {
          const record = records[end] as OutboundRecord;
          const size = recordBytes(record);
          if (end > index && bytes + size > BATCH_BYTES) break;
          bytes += size;
          end += 1;
        }
        await producer.send({ topic, acks: -1, messages: records.slice(index, end).map((record) => record.message) });
        index = end;
      }
      return null;
    });
    return { steady, drain: { ...drain, cpuFromStartMs: Number.NaN, cpuDrainingMs: Number.NaN } };
  } finally {
    await producer.disconnect();
  }
}

function recordBytes(record: OutboundRecord): number {
  let bytes = record.message.key.length + Buffer.byteLength(record.message.value) + 70;
  for (const [name, value] of Object.entries(record.message.headers)) bytes += name.length + value.length + 2;
  return bytes;
}

/** Messages in `topic` so far (the sum of its partitions' high-water marks). */
async function messagesIn(admin: ReturnType<Kafka['admin']>, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
}

function used(before: CpuSnapshot, after: CpuSnapshot, role: string): number {
  return (after.get(role) ?? 0) - (before.get(role) ?? 0);
}

function push(results: Map<string, Result[]>, key: string, result: Result): void {
  results.set(key, [...(results.get(key) ?? []), result]);
}

const perThousand = (ms: number, events: number): number => ms / events;
const seconds = (ms: number): string => (ms / 1000).toFixed(2);

function describe({ steady, drain }: Result): string {
  return (
    `steady: ${rate((steady.recordBatches * 1000) / steady.events)} record batches per 1k events, ack p50/p99 ${steady.ack.p50.toFixed(0)}/${steady.ack.p99.toFixed(0)} ms, visible p50/p99 ${steady.visible.p50.toFixed(0)}/${steady.visible.p99.toFixed(0)} ms, ` +
    `CPU per 1k: relay ${cpu(perThousand(steady.cpuMs, steady.events))} s, broker ${cpu(perThousand(steady.brokerMs, steady.events))} s, Postgres ${cpu(perThousand(steady.postgresMs, steady.events))} s; ` +
    `drain: ${seconds(drain.totalMs)} s from start, ${rate(EVENTS / (drain.drainMs / 1000))}/s, CPU per 1k: relay ${cpu(perThousand(drain.cpuFromStartMs, EVENTS))} s from start, ` +
    `${cpu(perThousand(drain.cpuDrainingMs, EVENTS))} s draining, broker ${cpu(perThousand(drain.brokerMs, EVENTS))} s\n` +
    `${steady.split === undefined ? '' : `    steady window's ${steady.split}\n`}` +
    `    steady window's ${steady.broker}`
  );
}

const cpu = (seconds: number): string => (Number.isNaN(seconds) ? '–' : seconds.toFixed(3));
const rate = (value: number): string => Math.round(value).toLocaleString('en-US');
const loadAverage = (): string =>
  os
    .loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');

/** Mean of a figure over the rounds, and its range as text. */
function over(results: Result[], figure: (result: Result) => number): { mean: number; text: string } {
  const values = results.map(figure).filter((value) => !Number.isNaN(value));
  if (values.length === 0) return { mean: Number.NaN, text: '–' };
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const low = Math.min(...values);
  const high = Math.max(...values);
  return { mean, text: low === high ? fmt(low) : `${fmt(low)}–${fmt(high)}` };
}

function fmt(value: number): string {
  if (value >= 100) return rate(value);
  if (value >= 10) return value.toFixed(1);
  return value < 1 ? value.toFixed(3) : value.toFixed(2);
}

/** The table of issue #18 (ranges over the rounds) and the goals, each checked on the rounds' means. */
function summarise(chosen: Contender[], results: Map<string, Result[]>): void {
  const rows: Array<[string, (result: Result) => number]> = [
    ['100k backlog drained, s from process start', (result) => result.drain.totalMs / 1000],
    ['drain events/s', (result) => EVENTS / (result.drain.drainMs / 1000)],
    ['relay CPU per 1k events, draining (from start), s', (result) => perThousand(result.drain.cpuFromStartMs, EVENTS)],
    ['relay CPU per 1k events, draining (first to last event), s', (result) => perThousand(result.drain.cpuDrainingMs, EVENTS)],
    ['broker CPU per 1k events, draining, s', (result) => perThousand(result.drain.brokerMs, EVENTS)],
    [`record batches per 1k events, steady ${rate(RATE)}/s`, (result) => (result.steady.recordBatches * 1000) / result.steady.events],
    [`relay CPU per 1k events, steady ${rate(RATE)}/s, s`, (result) => perThousand(result.steady.cpuMs, result.steady.events)],
    [`broker CPU per 1k events, steady ${rate(RATE)}/s, s`, (result) => perThousand(result.steady.brokerMs, result.steady.events)],
    [`Postgres CPU per 1k events, steady ${rate(RATE)}/s, s`, (result) => perThousand(result.steady.postgresMs, result.steady.events)],
    ['commit → ack p50, ms', (result) => result.steady.ack.p50],
    ['commit → ack p99, ms', (result) => result.steady.ack.p99],
    ['commit → visible p50, ms', (result) => result.steady.visible.p50],
    ['commit → visible p99, ms', (result) => result.steady.visible.p99],
  ];
  const columns: Array<[string, string]> = [
    ...chosen.map((contender): [string, string] => [contender.key, contender.name]),
    [RAW, 'raw kafkajs producer'],
  ];
  say(`summary (${ROUNDS} rounds; ranges over the rounds; load average now ${loadAverage()})`);
  for (const [key, name] of columns) {
    const runs = results.get(key) ?? [];
    say(`  ${name}`);
    for (const [label, figure] of rows) say(`    ${label.padEnd(62)} ${over(runs, figure).text}`);
  }

  const mean = (key: string, figure: (result: Result) => number): number => over(results.get(key) ?? [], figure).mean;
  const relayCpu = (result: Result): number => perThousand(result.steady.cpuMs, result.steady.events);
  const brokerCpu = (result: Result): number => perThousand(result.steady.brokerMs, result.steady.events);
  const visibleP99 = (result: Result): number => result.steady.visible.p99;
  const drainRate = (result: Result): number => EVENTS / (result.drain.drainMs / 1000);
  const figures: Figure[] = [];
  const goal = (figure: Figure): void => {
    figures.push(figure);
    const baseline = figure.baseline === undefined ? '' : ` vs ${figure.baseline.name} ${fmt(figure.baseline.value)}`;
    say(`  ${figure.met ? 'met    ' : 'NOT met'} ${figure.name}: ${fmt(figure.value)} ${figure.unit}${baseline} (goal ${figure.goal})`);
  };
  /** Relay and broker CPU per 1k events of our relay at `setting` against the Debezium contender `debezium`: no more. */
  const cpuGoals = (setting: 'latency' | 'throughput', debezium: string, debeziumName: string, goalText: string): void => {
    for (const [what, figure] of [
      ['relay', relayCpu],
      ['broker', brokerCpu],
    ] as const) {
      goal({
        name: `${setting} setting: ${what} CPU per 1k events at ${rate(RATE)}/s`,
        value: mean(`settle_${setting}`, figure),
        unit: 's',
        baseline: { name: debeziumName, value: mean(debezium, figure) },
        goal: goalText,
        met: mean(`settle_${setting}`, figure) <= mean(debezium, figure),
      });
    }
  };
  say('goals (issue #18, on the means of the rounds)');
  if (results.has('settle_latency')) {
    const floor = mean(RAW, visibleP99);
    goal({
      name: 'latency setting: commit → visible p99',
      value: mean('settle_latency', visibleP99),
      unit: 'ms',
      baseline: { name: 'raw kafkajs producer', value: floor },
      goal: '≤ 1.5× the raw producer',
      met: mean('settle_latency', visibleP99) <= 1.5 * floor,
    });
    if (results.has('debezium_20ms')) cpuGoals('latency', 'debezium_20ms', 'Debezium, 20 ms poll', '≤ Debezium tuned for latency');
  }
  if (results.has('settle_throughput') && results.has('debezium_defaults')) {
    cpuGoals('throughput', 'debezium_defaults', 'Debezium, defaults', '≤ Debezium defaults');
    goal({
      name: 'throughput setting: commit → visible p99',
      value: mean('settle_throughput', visibleP99),
      unit: 'ms',
      baseline: { name: 'Debezium, defaults', value: mean('debezium_defaults', visibleP99) },
      goal: '≤ Debezium defaults',
      met: mean('settle_throughput', visibleP99) <= mean('debezium_defaults', visibleP99),
    });
  }
  // The issue's drain figure: a 100k backlog, from process start (a JVM's start and a Node process's both count).
  const drainSeconds = (result: Result): number => result.drain.totalMs / 1000;
  const debeziumSeconds = Math.min(
    ...['debezium_defaults', 'debezium_20ms'].filter((key) => results.has(key)).map((key) => mean(key, drainSeconds)),
  );
  if (results.has('settle_latency') && Number.isFinite(debeziumSeconds)) {
    const ours = mean('settle_latency', drainSeconds);
    goal({
      name: `${EVENTS / 1000}k backlog drained from process start, Debezium's time over ours`,
      value: debeziumSeconds / ours,
      unit: '×',
      baseline: { name: 'Debezium (the faster setting), s', value: debeziumSeconds },
      goal: '≥ 1.5×',
      met: debeziumSeconds / ours >= 1.5,
    });
  }
  if (results.has('settle_latency') && results.has('poll')) {
    goal({
      name: 'drain events/s vs the poll relay',
      value: mean('settle_latency', drainRate),
      unit: 'events/s',
      baseline: { name: 'poll relay', value: mean('poll', drainRate) },
      goal: '(reported)',
      met: true,
    });
  }
  reportFigures('relay', figures);
}

main().catch((error: unknown) => {
  process.stderr.write(`relay benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
