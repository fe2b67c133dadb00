export { applyRetention, RETENTION_TABLES, retentionPolicy } from './retention';
export type { RetentionPolicy, RetentionResult } from './retention';
export { overdueDisputes, sweepTimers } from './timers';
export type { SweepResult } from './timers';
export { startWorker } from './worker';
export type { RunningWorker, WorkerOptions } from './worker';
