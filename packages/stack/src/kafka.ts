import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '@settle/config';
import { Kafka, logLevel } from 'kafkajs';
import { StackError } from './errors';
import { defaultCacheDir, ensureMavenJars, exists } from './maven';
import { portInUse } from './ports';
import { commandExists, guardChild, waitForExit } from './processes';

const KAFKA_INFRA = path.join(repoRoot, 'infra', 'kafka');

/**
 * The local broker compiles with C1 only. It is started fresh for npm start, each test run and each bench,
 * and then shares 2 cores with Postgres and the apps. With HotSpot's default tiered JIT its C2 compiler thread
 * was still taking ~18 % of a core 30 s after start. At 200 messages/s, with one producer and two consumers,
 * the broker then used 43–59 % of a core; with C1 only, 33–35 %. bench:relay the same day: backlog drain
 * 7,766/s (49 % of raw kafkajs) and 100k drained in 13.2 s with C2, 14,451/s (91 %) and 7.1 s with C1 only.
 * A long-lived broker on its own machine (KAFKA_BROKERS) keeps the full JIT.
 */
const JIT_FLAGS = ['-XX:TieredStopAtLevel=1'];

export interface KafkaBrokerOptions {
  /** Broker state (log.dirs, meta.properties, broker.log); reused across restarts. */
  dir: string;
  port: number;
  controllerPort: number;
  /** Where fetched jars are cached. @default ~/.cache/settle */
  cacheDir?: string;
  onProgress?: (message: string) => void;
}

export interface RunningKafka {
  brokers: string[];
  pid: number;
  stop(): Promise<void>;
}

/**
 * Fetches the broker jars named in infra/kafka/pom.xml from Maven Central once (keyed by the pom's hash)
 * and returns the directory that holds them.
 */
export async function ensureKafkaJars(cacheDir = defaultCacheDir(), onProgress?: (message: string) => void): Promise<string> {
  return ensureMavenJars({
    pom: path.join(KAFKA_INFRA, 'pom.xml'),
    name: 'kafka',
    jars: 'the Kafka broker jars',
    withoutMaven: 'set KAFKA_BROKERS to an existing cluster',
    cacheDir,
    onProgress,
  });
}

/** Starts a single-node KRaft Kafka broker with `java`, formatting its storage on first use. */
export async function startKafkaBroker(options: KafkaBrokerOptions): Promise<RunningKafka> {
  if (!commandExists('java', ['-version'])) {
    throw new StackError(
      'Java 17+ is needed to run the local Kafka broker: install a JRE (e.g. `apt-get install openjdk-17-jre-headless`) or set KAFKA_BROKERS to an existing cluster',
    );
  }
  for (const port of [options.port, options.controllerPort]) {
    if (await portInUse(port)) {
      throw new StackError(
        `port ${port} is already taken: stop what listens there, set KAFKA_PORT/KAFKA_CONTROLLER_PORT to free ports, or set KAFKA_BROKERS to use that cluster`,
      );
    }
  }
  const libs = await ensureKafkaJars(options.cacheDir, options.onProgress);
  const classpath = path.join(libs, '*');
  const logDir = path.join(options.dir, 'data');
  await fs.mkdir(logDir, { recursive: true });

  const template = await fs.readFile(path.join(KAFKA_INFRA, 'server.properties'), 'utf8');
  const properties = template
    .replaceAll('${port}', String(options.port))
    .replaceAll('${controllerPort}', String(options.controllerPort))
    .replaceAll('${logDir}', logDir);
  const propertiesFile = path.join(options.dir, 'server.properties');
  await fs.writeFile(propertiesFile, properties);

  const java = (mainClass: string, args: string[]): string[] => [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    ...JIT_FLAGS,
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${path.join(KAFKA_INFRA, 'log4j.properties')}`,
    '-cp',
    classpath,
    mainClass,
    ...args,
  ];

  if (!(await exists(path.join(logDir, 'meta.properties')))) {
    options.onProgress?.('formatting Kafka storage…');
    const format = spawnSync(
      'java',
      java('kafka.tools.StorageTool', [
        'format',
        '-t',
        randomUUID().replaceAll('-', '').slice(0, 22),
        '-c',
        propertiesFile,
        '--ignore-formatted',
      ]),
      {
        encoding: 'utf8',
      },
    );
    if (format.status !== 0) {
      throw new StackError(`Kafka storage format failed: ${(format.stderr || format.stdout).trim().split('\n').at(-1) ?? ''}`);
    }
  }

  const logFile = path.join(options.dir, 'broker.log');
  const out = createWriteStream(logFile, { flags: 'a' });
  // Its own process group: a Ctrl-C or a signal to npm's group must not stop the broker before the apps have
  // left their consumer groups (stop() does it, last); the guard stops it if this process dies.
  const child = spawn('java', java('kafka.Kafka', [propertiesFile]), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const pid = child.pid;
  if (pid === undefined) throw new StackError('could not spawn java for the Kafka broker');
  guardChild(pid);

  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const brokers = [`127.0.0.1:${options.port}`];
  try {
    await waitForKafka(brokers, 90_000, () => exited);
  } catch (error) {
    child.kill('SIGKILL');
    const tail = (await fs.readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join(' | ');
    throw new StackError(`Kafka broker did not start (log ${logFile}): ${tail || String(error)}`, { cause: error });
  }

  return {
    brokers,
    pid,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      if (!(await waitForExit(pid, 20_000))) child.kill('SIGKILL');
      await waitForExit(pid, 5_000);
    },
  };
}

/** Waits until the cluster answers a metadata request. */
export async function waitForKafka(brokers: string[], timeoutMs = 60_000, gaveUp: () => boolean = () => false): Promise<void> {
  const kafka = new Kafka({ clientId: 'settle-stack-probe', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline && !gaveUp()) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new StackError(
    gaveUp()
      ? 'the broker process exited during start-up'
      : `Kafka at ${brokers.join(',')} did not answer within ${timeoutMs} ms: ${String(lastError)}`,
  );
}
