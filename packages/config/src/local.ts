import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabaseConfig, KafkaConfig, LocalStackConfig } from './parts';

/** Absolute path of the repository root (two levels above packages/config/src). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The superuser of the embedded Postgres `npm start` runs (and its password). */
export const LOCAL_PG_USER = 'postgres';
export const LOCAL_PG_PASSWORD = 'settle';

/**
 * Where a local `npm start` stack answers, for tools run beside it (`settle-ops`): DATABASE_URL and KAFKA_BROKERS
 * when set, otherwise the embedded defaults on PG_PORT / KAFKA_PORT; the dev JWT secret `npm start` keeps in
 * SETTLE_DATA_DIR/jwt-secret when JWT_SECRET is not set.
 */
export function localStack(
  config: DatabaseConfig & Pick<KafkaConfig, 'KAFKA_BROKERS'> & Pick<LocalStackConfig, 'PG_PORT' | 'KAFKA_PORT' | 'SETTLE_DATA_DIR'>,
): { databaseUrl: string; kafkaBrokers: string[]; jwtSecretFile: string } {
  return {
    databaseUrl: config.DATABASE_URL ?? `postgres://${LOCAL_PG_USER}:${LOCAL_PG_PASSWORD}@127.0.0.1:${config.PG_PORT}/settle`,
    kafkaBrokers: config.KAFKA_BROKERS ?? [`127.0.0.1:${config.KAFKA_PORT}`],
    jwtSecretFile: path.join(dataDir(config), 'jwt-secret'),
  };
}

/** The directory `npm start` keeps state in. @default <repo>/.settle */
export function dataDir(config: Pick<LocalStackConfig, 'SETTLE_DATA_DIR'>): string {
  return path.resolve(config.SETTLE_DATA_DIR ?? path.join(repoRoot, '.settle'));
}
