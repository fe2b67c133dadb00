import type { Logger } from 'pino';

/**
 * Runs `stop` once on SIGINT/SIGTERM, then exits. When the process was started by `npm start`
 * (SETTLE_SUPERVISED=1) it also stops if its supervisor disappears, so a killed supervisor leaves no app behind.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, supervised = false): void {
  let stopping = false;
  const run = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGINT', () => run('SIGINT'));
  process.once('SIGTERM', () => run('SIGTERM'));
  if (supervised) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) run('supervisor exited');
    }, 1_000).unref();
  }
}
