export { startOpsServer } from './health';
export type { HealthReport, OpsServer, OpsServerOptions } from './health';
export { onShutdown } from './lifecycle';
export { createLogger } from './logger';
export type { Logger } from './logger';
export { createRegistry } from './metrics';
