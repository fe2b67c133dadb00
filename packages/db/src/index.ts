export { ensureDatabase, migrate, migrationsDir } from './migrate';
export { createPool, inTransaction } from './pool';
export type { Pool, PoolClient, PoolOptions, Queryable } from './pool';
export { inspectRelaySlot, recreateRelaySlot, setupRelaySlot } from './relay-slot';
export type { RelaySlotSetup, RelaySlotState } from './relay-slot';
