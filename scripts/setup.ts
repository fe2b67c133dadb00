/**
 * `node --import tsx scripts/setup.ts`: migrations, relay slot and topics against DATABASE_URL and
 * KAFKA_BROKERS, without starting anything (docker-compose's `migrate` service, deployments).
 */
import { loadAppConfig } from '@settle/config';
import { prepareSystem } from './prepare';

const config = loadAppConfig('setup');
if (config.DATABASE_URL === undefined || config.KAFKA_BROKERS === undefined) {
  process.stderr.write('settle-setup: set DATABASE_URL and KAFKA_BROKERS (npm start does this for the embedded stack)\n');
  process.exit(1);
}
try {
  await prepareSystem(config, config.DATABASE_URL, config.KAFKA_BROKERS, (line) => process.stdout.write(`${line}\n`));
} catch (error) {
  process.stderr.write(`settle-setup: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
