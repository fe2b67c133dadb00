import type { Logger } from 'pino';

export interface ShutdownOptions {
  /** Stop when the supervisor (`npm start`) that spawned this process disappears. @default false */
  supervised?: boolean;
  /** A graceful stop that takes longer than this is cut short with exit code 1. @default 15000 */
  graceMs?: number;
}

/**
 * Runs `stop` once on SIGINT/SIGTERM (or when the supervisor disappears), then exits. A stop that hangs (a
 * broker or database that is already gone) is cut short after `graceMs`, and a second signal exits at once,
 * so an app never outlives the system it belongs to.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, options: ShutdownOptions | boolean = {}): void {
  const { supervised = false, graceMs = 15_000 } = typeof options === 'boolean' ? { supervised: options } : options;
  let stopping = false;
  const run = (reason: string): void => {
    if (stopping) {
      logger.warn({ reason }, 'second shutdown request: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ reason }, 'shutting down');
    setTimeout(() => {
      logger.error({ graceMs }, 'graceful shutdown did not finish in time: exiting');
      process.exit(1);
    }, graceMs).unref();
    stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => run('SIGINT'));
  process.on('SIGTERM', () => run('SIGTERM'));
  if (supervised) {
    // Re-parented to init before we got here: the supervisor died while this process was starting.
    if (process.ppid === 1) {
      setImmediate(() => run('supervisor exited before start-up finished'));
      return;
    }
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(watch);
        run('supervisor exited');
      }
    }, 1_000);
    watch.unref();
  }
}
