import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '@settle/config';
import { migrate } from '@settle/db';
import { startStack, withDatabase } from '@settle/stack';

const TEMPLATE = 'settle_template';

/**
 * Starts the real stack once per `vitest run` (embedded Postgres + Kafka from jars on free ports, or
 * DATABASE_URL / KAFKA_BROKERS) and migrates a template database that every test file copies.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const stack = await startStack({ config: loadConfig(), mode: 'ephemeral', onProgress: (line) => console.log(`[stack] ${line}`) });
  const admin = new pg.Client({ connectionString: stack.databaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  } finally {
    await admin.end();
  }
  await migrate(withDatabase(stack.databaseUrl, TEMPLATE));
  console.log(`[stack] ready in ${Date.now() - started} ms`);

  project.provide('adminDatabaseUrl', stack.databaseUrl);
  project.provide('templateDatabase', TEMPLATE);
  project.provide('kafkaBrokers', stack.kafkaBrokers);
  return () => stack.stop();
}
