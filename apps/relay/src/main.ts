/** The relay process (`npm start` spawns it): config from the environment, then startRelay until a signal. */
import { loadAppConfig } from '@settle/config';
import { createLogger, onShutdown } from '@settle/observability';
import { startRelay } from './relay';

const config = loadAppConfig('relay');
const logger = createLogger('relay', config.LOG_LEVEL);
try {
  const relay = await startRelay({ config, logger });
  logger.info({ port: relay.port, mode: config.RELAY_MODE, slot: config.RELAY_SLOT }, 'relay started');
  onShutdown(logger, () => relay.stop(), config.SETTLE_SUPERVISED);
} catch (error) {
  logger.fatal({ err: error }, 'relay failed to start');
  process.exit(1);
}
