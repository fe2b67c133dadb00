/**
 * `npm run chaos -- [--minutes N] [--rate R]`: the whole system under faults, then a check that nothing was lost.
 *
 * Starts its own stack (embedded Postgres, Kafka from jars, every app under the supervisor `npm start` uses) and
 * drives full order lifecycles over HTTP at R per second (completions, cancels, disputes resolved both ways) with
 * each merchant's socket connected, for N minutes. Meanwhile it SIGKILLs the relay many times and the notifier once,
 * restarts Kafka and restarts Postgres, and times how long the system takes to carry a new event to a merchant's
 * screen again after each fault. Afterwards it proves from Postgres, Kafka and the clients' own logs:
 *
 *   - 0 committed events missing from Kafka, and 0 per-order reorders there;
 *   - 0 events missing on any merchant after a final reconnect with its lastSeq, 0 duplicate or older statuses shown;
 *   - 0 dead letters for committed events;
 *   - every 5xx the API answered during the faults was a 503 problem+json.
 *
 * It prints a table and exits 1 when a figure is off (2 on bad arguments). tests/chaos/chaos.test.ts runs a
 * one-minute version inside `npm test`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { signToken } from '@settle/auth';
import { loadConfig, type Config } from '@settle/config';
import { connectNotifier, type NotifierClient, type NotificationPayload } from '@settle/contracts';
import { createPool, ensureDatabase, upsertAccount, type Pool } from '@settle/db';
import { audienceOf, type OrderEvent } from '@settle/domain';
import { createKafka, headersAsText } from '@settle/kafka';
import { freePort, startEmbeddedPostgres, startKafkaBroker, type RunningKafka, type RunningPostgres } from '@settle/stack';
import { testAddress, testTxHash } from '@settle/testkit';
import { prepareSystem } from '../../scripts/prepare';
import { reportFigures } from '../summary';
import { appEnvironment, Supervisor } from '../../scripts/supervisor';

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const MERCHANTS = ['m-chaos-0', 'm-chaos-1', 'm-chaos-2'];
const APPS = ['relay', 'worker', 'notifier', 'api'];

interface Options {
  minutes: number;
  rate: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { minutes: { type: 'string', default: '5' }, rate: { type: 'string', default: '2' } },
    strict: true,
  });
  const minutes = Number(values.minutes);
  const rate = Number(values.rate);
  if (!Number.isFinite(minutes) || minutes < 0.5 || minutes > 600)
    throw new Error(`--minutes must be a number from 0.5 to 600, not ${values.minutes}`);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 50)
    throw new Error(`--rate must be a number of lifecycles per second above 0 and at most 50, not ${values.rate}`);
  return { minutes, rate };
}

// ---- the system under test --------------------------------------------------------------------------------------

interface System {
  config: Config;
  databaseUrl: string;
  brokers: string[];
  pool: Pool;
  supervisor: Supervisor;
  restartPostgres(): Promise<void>;
  restartKafka(): Promise<void>;
  stop(): Promise<void>;
}

async function startSystem(dir: string, log: (line: string) => void): Promise<System> {
  const ports = Object.fromEntries(
    await Promise.all(
      ['PG_PORT', 'KAFKA_PORT', 'KAFKA_CONTROLLER_PORT', 'PORT', 'NOTIFIER_PORT', 'RELAY_PORT', 'WORKER_PORT'].map(async (name) => [
        name,
        String(await freePort()),
      ]),
    ),
  );
  const config = loadConfig({
    ...process.env,
    ...ports,
    DEV_AUTH: '1',
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    DATABASE_URL: undefined,
    KAFKA_BROKERS: undefined,
  });
  const startPostgres = (): Promise<RunningPostgres> =>
    startEmbeddedPostgres({ dataDir: path.join(dir, 'postgres'), port: config.PG_PORT });
  const startKafka = (): Promise<RunningKafka> =>
    startKafkaBroker({ dir: path.join(dir, 'kafka'), port: config.KAFKA_PORT, controllerPort: config.KAFKA_CONTROLLER_PORT });
  let [postgres, kafka] = await Promise.all([startPostgres(), startKafka()]);
  const databaseUrl = await ensureDatabase(postgres.url, 'settle');
  await prepareSystem(config, databaseUrl, kafka.brokers, () => undefined);
  const pool = createPool(databaseUrl, { max: 4, applicationName: 'settle-chaos' });
  for (const id of MERCHANTS) await upsertAccount(pool, { kind: 'merchant', id });
  // The supervisor's lines (a crash, its restart) go into the run's output as they happen.
  // The apps' own lines (their warnings during the faults) go to the run's log file.
  const supervisor = new Supervisor({
    say: (line) => say(`  ${line}`),
    crashLoop: (name, reason) => say(`  crash loop: ${name}: ${reason}`),
    output: (name, line) => log(`[${name}] ${line}`),
  });
  const env = { ...appEnvironment(config, databaseUrl, kafka.brokers), ...ports, LOG_LEVEL: 'warn' };
  for (const name of APPS) supervisor.start({ name, env });
  return {
    config,
    databaseUrl,
    brokers: kafka.brokers,
    pool,
    supervisor,
    async restartPostgres() {
      await postgres.stop();
      postgres = await startPostgres();
    },
    async restartKafka() {
      await kafka.stop();
      kafka = await startKafka();
    },
    async stop() {
      await supervisor.stopAll();
      await pool.end().catch(() => undefined);
      await kafka.stop();
      await postgres.stop();
    },
  };
}

/** Waits until every app answers 200 on /ready; the apps that did not within `timeoutMs`, with their last answer. */
async function notReady(config: Config, timeoutMs: number): Promise<string[]> {
  const ports: Record<string, number> = {
    relay: config.RELAY_PORT,
    worker: config.WORKER_PORT,
    notifier: config.NOTIFIER_PORT,
    api: config.PORT,
  };
  let waiting: string[] = [];
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(250)) {
    const answers = await Promise.all(
      Object.entries(ports).map(async ([name, port]) => {
        const response = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2_000) }).catch((error: unknown) =>
          String(error),
        );
        return typeof response === 'string'
          ? `${name}: ${response}`
          : response.status === 200
            ? undefined
            : `${name}: ${response.status} ${await response.text()}`;
      }),
    );
    waiting = answers.filter((answer) => answer !== undefined);
    if (waiting.length === 0) return [];
  }
  return waiting;
}

// ---- load: order lifecycles over HTTP ---------------------------------------------------------------------------

type Kind = 'complete' | 'cancel' | 'dispute-release' | 'dispute-refund';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

class Load {
  /** Every 5xx the API answered, with whether it was a 503 problem+json. */
  readonly serverErrors: Array<{ status: number; problem: boolean; path: string }> = [];
  readonly outcomes = new Map<Kind, number>();
  readonly failures: string[] = [];
  readonly orderIds: string[] = [];
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private compliance = '';
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly config: Config,
    private readonly rate: number,
  ) {}

  private async token(role: 'user' | 'merchant' | 'compliance', id: string): Promise<string> {
    const key = `${role}:${id}`;
    let token = this.tokens.get(key);
    if (token === undefined) {
      token = await signToken(this.config, { role, id }, 24 * 3600);
      this.tokens.set(key, token);
    }
    return token;
  }

  /** One call, retried with the same Idempotency-Key through outages (503, refused connections, timeouts). */
  async call(method: 'POST' | 'GET', pathname: string, token: string, body?: unknown): Promise<Answer> {
    const key = randomUUID();
    for (const deadline = Date.now() + 180_000; ; await sleep(300)) {
      if (Date.now() > deadline) throw new Error(`${method} ${pathname}: no answer in 3 minutes`);
      let response: Response;
      try {
        response = await fetch(`http://127.0.0.1:${this.config.PORT}${pathname}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': key }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(15_000),
        });
      } catch {
        continue;
      }
      const text = await response.text();
      if (response.status >= 500) {
        this.serverErrors.push({
          status: response.status,
          problem: (response.headers.get('content-type') ?? '').startsWith('application/problem+json'),
          path: pathname,
        });
        continue;
      }
      if (response.status === 429) continue;
      return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
    }
  }

  private async step(pathname: string, token: string, body: unknown, want = 200): Promise<Answer> {
    const answer = await this.call('POST', pathname, token, body);
    if (answer.status !== want) throw new Error(`${pathname}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer;
  }

  /** One order from creation to its end. */
  private async lifecycle(n: number, kind: Kind): Promise<void> {
    const user = `u-chaos-${n}`;
    const merchant = MERCHANTS[n % MERCHANTS.length] ?? 'm-chaos-0';
    const [userToken, merchantToken] = await Promise.all([this.token('user', user), this.token('merchant', merchant)]);
    const label = `chaos-${process.pid}-${n}`;
    const created = await this.step(
      '/v1/orders',
      userToken,
      {
        type: 'sell',
        merchantId: merchant,
        cryptoAmount: '100',
        cryptoCurrency: 'USDT',
        fiatAmount: '367.25',
        fiatCurrency: 'AED',
        rate: '3.6725',
        paymentMethod: 'upi',
      },
      201,
    );
    const id = String(created.body['id']);
    this.orderIds.push(id);
    const order = (action: string) => `/v1/orders/${id}/${action}`;
    if (kind === 'cancel') {
      await this.step(order('cancel'), userToken, { reason: 'changed my mind' });
    } else {
      await this.step(order('accept'), merchantToken, { walletAddress: testAddress(`${label}-wallet`) });
      await this.step(order('escrow'), userToken, { txHash: testTxHash(`${label}-escrow`) });
      if (kind === 'complete') {
        await this.step(order('payment-sent'), merchantToken, {});
        await this.step(order('release'), userToken, { txHash: testTxHash(`${label}-release`) });
      } else {
        await this.step(order('dispute'), merchantToken, { reason: 'the seller does not answer' });
        const outcome = kind === 'dispute-release' ? 'release' : 'refund';
        await this.step(order('dispute/resolve'), this.compliance, {
          outcome,
          txHash: testTxHash(`${label}-${outcome}`),
          note: `chaos: ${outcome}`,
        });
      }
    }
    this.outcomes.set(kind, (this.outcomes.get(kind) ?? 0) + 1);
  }

  /** Starts a lifecycle every 1/rate s (open loop) until stop(). */
  async run(): Promise<void> {
    this.compliance = await this.token('compliance', 'compliance-chaos');
    const kinds: Kind[] = [
      'complete',
      'complete',
      'complete',
      'complete',
      'complete',
      'complete',
      'cancel',
      'cancel',
      'dispute-release',
      'dispute-refund',
    ];
    const began = Date.now();
    for (let n = 0; !this.stopped; n += 1) {
      const kind = kinds[n % kinds.length] ?? 'complete';
      const running = this.lifecycle(n, kind).catch(
        (error: unknown) => void this.failures.push(`${kind} #${n}: ${error instanceof Error ? error.message : String(error)}`),
      );
      this.running.add(running);
      void running.finally(() => this.running.delete(running));
      const next = began + ((n + 1) * 1000) / this.rate;
      await sleep(Math.max(0, next - Date.now()));
    }
  }

  /** Stops starting lifecycles and waits for those under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}

// ---- merchants' screens -----------------------------------------------------------------------------------------

/** A merchant's socket: every notification as it arrived (raw), and what the screen showed. */
class Screen {
  readonly raw: NotificationPayload[] = [];
  readonly shown: Array<{ orderId: string; orderVersion: number }> = [];
  private client: NotifierClient | undefined;

  constructor(
    readonly merchant: string,
    private readonly url: string,
    private readonly token: string,
  ) {}

  connect(lastSeq = 0, orderVersions: Array<[string, number]> = []): Promise<void> {
    return new Promise((resolve) => {
      const client = connectNotifier({
        url: this.url,
        token: this.token,
        lastSeq,
        orderVersions,
        onNotification: (payload) => void this.shown.push({ orderId: payload.orderId, orderVersion: payload.orderVersion }),
        onSynced: () => resolve(),
      });
      client.socket.on('notification', (payload) => void this.raw.push(payload));
      this.client = client;
    });
  }

  /** The final reconnect: a new connection that asks to continue after the last seq received. */
  async reconnect(): Promise<void> {
    const lastSeq = this.client?.lastSeq() ?? 0;
    const versions = new Map<string, number>();
    for (const { orderId, orderVersion } of this.shown) versions.set(orderId, Math.max(versions.get(orderId) ?? 0, orderVersion));
    this.client?.close();
    await this.connect(lastSeq, [...versions]);
  }

  close(): void {
    this.client?.close();
  }
}

// ---- faults -----------------------------------------------------------------------------------------------------

interface Fault {
  at: number;
  name: string;
  inject: (system: System) => Promise<void>;
}

function killApp(name: string): (system: System) => Promise<void> {
  return async (system) => {
    const pid = system.supervisor.pidOf(name);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  };
}

/**
 * The faults of a run of `minutes`: the relay SIGKILLed every ~25 s (at most 3 a minute, under the supervisor's
 * crash-loop limit of 5), the notifier once, Kafka and Postgres each restarted once, spread over the run.
 */
function schedule(minutes: number): Fault[] {
  const length = minutes * 60_000;
  const faults: Fault[] = [
    { at: 0.3 * length, name: 'notifier SIGKILL', inject: killApp('notifier') },
    { at: 0.5 * length, name: 'Kafka restart', inject: (system) => system.restartKafka() },
    { at: 0.75 * length, name: 'Postgres restart', inject: (system) => system.restartPostgres() },
  ];
  const relayKills = Math.max(2, Math.floor(length / 25_000));
  for (let i = 0; i < relayKills; i += 1)
    faults.push({ at: ((i + 0.5) * length) / (relayKills + 1), name: `relay SIGKILL #${i + 1}`, inject: killApp('relay') });
  return faults.sort((a, b) => a.at - b.at);
}

/** Time from a fault until a new order's first event reaches its merchant's screen again. */
async function recovery(load: Load, screen: Screen, began: number): Promise<number> {
  const token = await signToken(load.config, { role: 'user', id: 'u-chaos-probe' }, 3600);
  const created = await load.call('POST', '/v1/orders', token, {
    type: 'sell',
    merchantId: screen.merchant,
    cryptoAmount: '100',
    cryptoCurrency: 'USDT',
    fiatAmount: '367.25',
    fiatCurrency: 'AED',
    rate: '3.6725',
    paymentMethod: 'upi',
  });
  const id = String(created.body['id']);
  load.orderIds.push(id);
  for (const deadline = Date.now() + 180_000; !screen.raw.some((payload) => payload.orderId === id); await sleep(50)) {
    if (Date.now() > deadline) throw new Error(`no event reached ${screen.merchant}'s screen within 3 minutes of the fault`);
  }
  return Date.now() - began;
}

// ---- the checks -------------------------------------------------------------------------------------------------

interface Published {
  eventId: string;
  orderId: string;
  orderVersion: number;
  partition: number;
  offset: bigint;
}

type Read = Array<{ partition: number; message: KafkaMessage }>;

/**
 * Every message on `topics` from the start, each once (by partition and offset) however often it was read. The
 * checker's own consumer must not be what fails a run: kafkajs can give up after a broker restart (a CRASH it does not
 * restart from) or stop fetching without a word (kafkajs issue #659), so `catchUp` replaces a consumer that is behind
 * the topics' high-water marks and made no progress since the last call with a fresh one that reads from the start.
 */
async function readTopics(
  brokers: string[],
  topics: string[],
  log: (line: string) => void,
): Promise<{ messages: (topic: string) => Read; catchUp: () => Promise<void>; stop: () => Promise<void> }> {
  const kafka = createKafka({
    brokers,
    clientId: 'settle-chaos-checker',
    onLog: (level, message) => log(`[checker] kafkajs ${level}: ${message}`),
  });
  const admin = kafka.admin();
  await admin.connect();
  const seen = new Map<string, Map<string, { partition: number; message: KafkaMessage }>>(topics.map((topic) => [topic, new Map()]));
  let consumer: Consumer | undefined;
  const start = async (): Promise<void> => {
    const next = kafka.consumer({ groupId: `settle-chaos-checker-${randomUUID()}`, maxWaitTimeInMs: 200 });
    next.on(next.events.CRASH, ({ payload }) => {
      log(`[checker] consumer crashed (${payload.error.message}); kafkajs restarts it: ${payload.restart}`);
      if (!payload.restart) void replace();
    });
    await next.connect();
    await next.subscribe({ topics, fromBeginning: true });
    await next.run({
      eachMessage: async ({ topic, partition, message }) =>
        void seen.get(topic)?.set(`${partition}:${message.offset}`, { partition, message }),
    });
    consumer = next;
  };
  const replace = async (): Promise<void> => {
    const old = consumer;
    consumer = undefined;
    await old?.disconnect().catch(() => undefined);
    await start();
  };
  const readCount = (): number => [...seen.values()].reduce((sum, map) => sum + map.size, 0);
  let lastCount = -1;
  const behind = async (): Promise<boolean> => {
    for (const topic of topics) {
      for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
        const read = [...(seen.get(topic)?.values() ?? [])].filter((entry) => entry.partition === partition).length;
        // No producer writes transactions or compacts these topics: offsets 0..high-1 are the partition's messages.
        if (read < Number(high)) return true;
      }
    }
    return false;
  };
  await start();
  return {
    messages: (topic) => [...(seen.get(topic)?.values() ?? [])],
    async catchUp() {
      const count = readCount();
      if (count === lastCount && consumer !== undefined && (await behind())) {
        log(`[checker] consumer stalled behind the high-water marks at ${count} messages; a fresh one reads the topics again`);
        await replace();
      }
      lastCount = count;
    },
    async stop() {
      await consumer?.disconnect();
      await admin.disconnect();
    },
  };
}

function published(messages: Array<{ partition: number; message: KafkaMessage }>): Published[] {
  return messages.map(({ partition, message }) => {
    const headers = headersAsText(message.headers);
    const value = JSON.parse(message.value?.toString('utf8') ?? '{}') as { eventId?: string; orderId?: string; orderVersion?: number };
    return {
      eventId: value.eventId ?? headers['id'] ?? '',
      orderId: value.orderId ?? String(message.key),
      orderVersion: value.orderVersion ?? 0,
      partition,
      offset: BigInt(message.offset),
    };
  });
}

/** Times an order's version went backwards in the order Kafka holds its messages (each order lives on one partition). */
function reorders(events: Published[]): number {
  const byOrder = new Map<string, Published[]>();
  for (const event of events) byOrder.set(event.orderId, [...(byOrder.get(event.orderId) ?? []), event]);
  let count = 0;
  for (const list of byOrder.values()) {
    if (new Set(list.map((event) => event.partition)).size > 1) count += 1;
    list.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    let highest = 0;
    for (const event of list) {
      if (event.orderVersion < highest) count += 1;
      highest = Math.max(highest, event.orderVersion);
    }
  }
  return count;
}

/** Deliveries whose version is at or below one the screen showed before for that order. */
function staleShown(screen: Screen): number {
  const highest = new Map<string, number>();
  let stale = 0;
  for (const { orderId, orderVersion } of screen.shown) {
    if (orderVersion <= (highest.get(orderId) ?? 0)) stale += 1;
    highest.set(orderId, Math.max(highest.get(orderId) ?? 0, orderVersion));
  }
  return stale;
}

// ---- the run ----------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(
      `chaos: ${error instanceof Error ? error.message : String(error)} (usage: npm run chaos -- [--minutes N] [--rate R])\n`,
    );
    return 2;
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-chaos-'));
  // As root, Postgres runs as the postgres user, which must enter the directory.
  await fs.chmod(dir, 0o755);
  const logFile = path.join(os.tmpdir(), `settle-chaos-${new Date().toISOString().replaceAll(':', '-')}.log`);
  const log = await fs.open(logFile, 'a');
  say(`chaos: ${options.minutes} min of order lifecycles at ${options.rate}/s under faults (stack in ${dir}, the apps' log in ${logFile})`);
  const system = await startSystem(dir, (line) => void log.write(`${line}\n`));
  try {
    const late = await notReady(system.config, 120_000);
    if (late.length > 0) throw new Error(`the apps did not become ready: ${late.join('; ')}`);
    const topic = system.config.ORDER_EVENTS_TOPIC;
    const dlt = `${topic}.dlt`;
    const reader = await readTopics(system.brokers, [topic, dlt], (line) => void log.write(`${line}\n`));
    const screens = await Promise.all(
      MERCHANTS.map(
        async (merchant) =>
          new Screen(
            merchant,
            `http://127.0.0.1:${system.config.NOTIFIER_PORT}`,
            await signToken(system.config, { role: 'merchant', id: merchant }, 24 * 3600),
          ),
      ),
    );
    await Promise.all(screens.map((screen) => screen.connect()));

    const load = new Load(system.config, options.rate);
    const began = Date.now();
    const loadDone = load.run();
    const results: Array<{ name: string; at: number; recoveredMs: number }> = [];
    // Faults at their scheduled time, but never closer than 15 s after the last one recovered: a slow recovery
    // must not bunch the relay's kills into the supervisor's crash-loop limit (5 restarts of one app in a minute).
    let quietUntil = 0;
    for (const [index, fault] of schedule(options.minutes).entries()) {
      await sleep(Math.max(0, began + fault.at - Date.now(), quietUntil - Date.now()));
      const at = Date.now();
      say(`  ${((at - began) / 1000).toFixed(0).padStart(4)} s  ${fault.name}`);
      await fault.inject(system);
      const screen = screens[index % screens.length] ?? screens[0]!;
      results.push({ name: fault.name, at: at - began, recoveredMs: await recovery(load, screen, at) });
      quietUntil = Date.now() + 15_000;
    }
    await sleep(Math.max(0, began + options.minutes * 60_000 - Date.now()));
    await load.stop();
    await loadDone;
    say(`  load stopped after ${((Date.now() - began) / 1000).toFixed(0)} s; waiting for the pipeline to drain…`);

    // Drained: every committed event is on the topic (or 3 minutes passed), then every screen reconnects once.
    const committed = (await system.pool.query<{ id: string; payload: OrderEvent }>('SELECT id, payload FROM order_events')).rows;
    const onTopic = (): Set<string> => new Set(published(reader.messages(topic)).map((event) => event.eventId));
    for (
      let round = 1, deadline = Date.now() + 180_000;
      Date.now() < deadline && !committed.every((row) => onTopic().has(row.id));
      round += 1
    ) {
      await sleep(500);
      if (round % 20 === 0) await reader.catchUp();
    }
    await sleep(3_000);
    await Promise.all(screens.map((screen) => screen.reconnect()));
    await sleep(2_000);
    await reader.stop();

    const events = published(reader.messages(topic));
    const seen = new Set(events.map((event) => event.eventId));
    const missingFromKafka = committed.filter((row) => !seen.has(row.id)).length;
    let missingOnScreens = 0;
    for (const screen of screens) {
      const received = new Set(screen.raw.map((payload) => payload.eventId));
      const expected = committed.filter((row) =>
        audienceOf(row.payload).recipients.some((recipient) => recipient.kind === 'merchant' && recipient.id === screen.merchant),
      );
      missingOnScreens += expected.filter((row) => !received.has(row.id)).length;
    }
    const committedIds = new Set(committed.map((row) => row.id));
    const deadOnTopic = published(reader.messages(dlt)).filter((event) => committedIds.has(event.eventId)).length;
    const deadRows = Number(
      (await system.pool.query<{ n: string }>('SELECT count(*) AS n FROM dead_letters WHERE event_id IN (SELECT id FROM order_events)'))
        .rows[0]?.n ?? 0,
    );
    const not503 = load.serverErrors.filter((error) => error.status !== 503 || !error.problem);

    const figures: Array<[string, number]> = [
      ['committed events missing from Kafka', missingFromKafka],
      ['per-order reorders in Kafka', reorders(events)],
      ['events missing on a merchant screen after a final reconnect', missingOnScreens],
      ['duplicate or older statuses shown', screens.reduce((sum, screen) => sum + staleShown(screen), 0)],
      ['dead letters for committed events (topic + table)', deadOnTopic + deadRows],
      ['5xx answers that were not 503 problem+json', not503.length],
      ['lifecycles that failed', load.failures.length],
    ];
    reportFigures('chaos', [
      ...figures.map(([name, value]) => ({ name, value, unit: '', goal: '0', met: value === 0 })),
      ...results.map((result) => ({
        name: `${result.name}: a new event on a merchant's screen again after`,
        value: result.recoveredMs / 1000,
        unit: 's',
        goal: '(reported)',
        met: true,
      })),
    ]);
    say('');
    // A SIGKILLed notifier's partitions move to its restart once Kafka ends the dead member's session (30 s).
    say('fault                      at       back on a screen after');
    for (const result of results)
      say(`${result.name.padEnd(26)} ${`${(result.at / 1000).toFixed(0)} s`.padStart(6)}   ${(result.recoveredMs / 1000).toFixed(1)} s`);
    say('');
    say(
      `orders: ${load.orderIds.length} (${[...load.outcomes].map(([kind, count]) => `${count} ${kind}`).join(', ')}); events committed ${committed.length}, on the topic ${events.length} (with redeliveries); 503s answered during faults ${load.serverErrors.filter((error) => error.status === 503).length}`,
    );
    say('');
    say('figure                                                        value   goal');
    for (const [name, value] of figures) say(`${name.padEnd(60)} ${String(value).padStart(6)}   0${value === 0 ? '' : '   OFF'}`);
    for (const failure of load.failures.slice(0, 10)) say(`  failed: ${failure}`);
    for (const error of not503.slice(0, 10)) say(`  ${error.status} on ${error.path}${error.problem ? '' : ' (not problem+json)'}`);
    for (const screen of screens) screen.close();
    return figures.every(([, value]) => value === 0) ? 0 : 1;
  } finally {
    await system.stop();
    await log.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
