import { loadAppConfig } from '@settle/config';
import { createLogger, onShutdown } from '@settle/observability';
import { startNotifier } from './notifier';

const config = loadAppConfig('notifier');
const logger = createLogger('notifier', config.LOG_LEVEL);
startNotifier({ config, logger }).then(
  (notifier) => onShutdown(logger, () => notifier.stop(), config.SETTLE_SUPERVISED),
  (error: unknown) => {
    logger.fatal({ err: error }, 'notifier failed to start');
    process.exit(1);
  },
);
