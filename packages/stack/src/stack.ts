import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { dataDir, type DatabaseConfig, type KafkaConfig, type LocalStackConfig } from '@settle/config';
import { startKafkaBroker, waitForKafka } from './kafka';
import { freePort } from './ports';
import { redact, startEmbeddedPostgres, waitForPostgres } from './postgres';
import { postgresDataDir } from './postgres-reach';

export interface StackOptions {
  /** DATABASE_URL / KAFKA_BROKERS name an external Postgres / Kafka; otherwise the local stack part says where it runs. */
  config: DatabaseConfig & Pick<KafkaConfig, 'KAFKA_BROKERS'> & LocalStackConfig;
  /**
   * `persistent` (npm start): state under SETTLE_DATA_DIR on the configured ports.
   * `ephemeral` (tests, benches): throwaway directories on free ports, deleted on stop.
   */
  mode: 'persistent' | 'ephemeral';
  onProgress?: (message: string) => void;
  /** Start (or connect to) Kafka too. Benchmarks of Postgres-only paths turn it off. @default true */
  kafka?: boolean;
}

export interface RunningStack {
  /** Superuser URL of the cluster's `postgres` database. */
  databaseUrl: string;
  kafkaBrokers: string[];
  /** Which parts were given from outside (DATABASE_URL / KAFKA_BROKERS) rather than started here. */
  external: { postgres: boolean; kafka: boolean };
  stop(): Promise<void>;
}

/** Starts (or connects to) Postgres and Kafka; idempotent for the persistent stack's data. */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { config, mode } = options;
  const progress = options.onProgress ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  const scratch: string[] = [];

  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    stops.length = 0;
    for (const dir of scratch) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };

  try {
    const base = mode === 'persistent' ? dataDir(config) : await fs.mkdtemp(path.join(os.tmpdir(), 'settle-stack-'));
    if (mode === 'ephemeral') scratch.push(base);
    await fs.mkdir(base, { recursive: true });

    const startPostgres = async (): Promise<{ url: string; external: boolean }> => {
      if (config.DATABASE_URL !== undefined) {
        await waitForPostgres(config.DATABASE_URL);
        progress(`postgres: using DATABASE_URL ${redact(config.DATABASE_URL)}`);
        return { url: config.DATABASE_URL, external: true };
      }
      const started = Date.now();
      const placed = mode === 'persistent' ? await postgresDataDir(base) : undefined;
      if (placed?.movedBecause !== undefined)
        progress(`postgres: data in ${placed.dir}, because the postgres user cannot enter ${placed.movedBecause}`);
      const pg = await startEmbeddedPostgres({
        port: mode === 'persistent' ? config.PG_PORT : await freePort(),
        ...(placed !== undefined ? { dataDir: placed.dir } : {}),
        statStatements: config.PG_STAT_STATEMENTS,
        onProgress: progress,
      });
      stops.push(() => pg.stop());
      progress(`postgres: embedded on 127.0.0.1:${pg.port} (data ${pg.dataDir}) in ${Date.now() - started} ms`);
      return { url: pg.url, external: false };
    };

    const startKafka = async (): Promise<{ brokers: string[]; external: boolean }> => {
      if (config.KAFKA_BROKERS !== undefined) {
        const brokers = config.KAFKA_BROKERS;
        await waitForKafka(brokers);
        progress(`kafka: using KAFKA_BROKERS ${brokers.join(',')}`);
        return { brokers, external: true };
      }
      const started = Date.now();
      const kafka = await startKafkaBroker({
        dir: path.join(base, 'kafka'),
        port: mode === 'persistent' ? config.KAFKA_PORT : await freePort(),
        controllerPort: mode === 'persistent' ? config.KAFKA_CONTROLLER_PORT : await freePort(),
        onProgress: (message) => progress(`kafka: ${message}`),
      });
      stops.push(() => kafka.stop());
      progress(`kafka: broker on ${kafka.brokers.join(',')} (KRaft, pid ${kafka.pid}) in ${Date.now() - started} ms`);
      return { brokers: kafka.brokers, external: false };
    };

    // Settle both before judging, so a failure of one never leaves the other running unstopped.
    const noKafka = (): Promise<{ brokers: string[]; external: boolean }> => Promise.resolve({ brokers: [], external: false });
    const [pgResult, kafkaResult] = await Promise.allSettled([startPostgres(), options.kafka === false ? noKafka() : startKafka()]);
    if (pgResult.status === 'rejected') throw pgResult.reason;
    if (kafkaResult.status === 'rejected') throw kafkaResult.reason;
    const postgres = pgResult.value;
    const kafka = kafkaResult.value;
    return {
      databaseUrl: postgres.url,
      kafkaBrokers: kafka.brokers,
      external: { postgres: postgres.external, kafka: kafka.external },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
