// Env is parsed once with zod here and passed down: shared parts (parts.ts) composed into one schema per app (apps.ts).
export { APP_SCHEMAS, APP_VARIABLES, CONFIG_VARIABLES } from './apps';
export type { ApiConfig, AppConfig, AppName, Config, NotifierConfig, OpsConfig, RelayConfig, SetupConfig, WorkerConfig } from './apps';
export { ConfigError } from './errors';
export { loadAppConfig, loadConfig, parseAppConfig } from './load';
export { dataDir, LOCAL_PG_PASSWORD, LOCAL_PG_USER, localStack, repoRoot } from './local';
export { APP_NODE_FLAGS } from './node-flags';
export { orderPolicy } from './order-policy';
export type {
  AuthConfig,
  DatabaseConfig,
  KafkaConfig,
  LocalStackConfig,
  OrderRulesConfig,
  RedisConfig,
  RelaySlotConfig,
  RuntimeConfig,
  ServiceConfig,
  WebhookTargetsConfig,
} from './parts';
export { checkProductionProfile, productionProblems, type ProfileConfig } from './production';
