/** The API process (`npm start` spawns it): config from the environment, then startApi until a signal. */
import { loadAppConfig } from '@settle/config';
import { createLogger, onShutdown } from '@settle/observability';
import { startApi } from './api';

const config = loadAppConfig('api');
const logger = createLogger('api', config.LOG_LEVEL);
startApi({ config, logger }).then(
  (api) => onShutdown(logger, () => api.stop(), config.SETTLE_SUPERVISED),
  (error: unknown) => {
    logger.fatal({ err: error }, 'API failed to start');
    process.exit(1);
  },
);
