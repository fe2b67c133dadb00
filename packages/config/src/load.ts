import type { z } from 'zod';
import { APP_SCHEMAS, configSchema, type AppConfig, type AppName, type Config } from './apps';
import type { AuthConfig, RuntimeConfig } from './parts';
import { ConfigError } from './errors';
import { checkProductionProfile } from './production';

function parseEnv<Output>(schema: z.ZodType<Output>, env: NodeJS.ProcessEnv): Output {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Parses the environment for every app at once (`npm start`, tests, benches); pass the result down. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseEnv(configSchema, env);
}

/** APP_SCHEMAS typed so that indexing it with a generic app name gives that app's config type. */
const appSchemas: { [App in AppName]: z.ZodType<AppConfig<App>> } = APP_SCHEMAS;

/** An app whose schema has the auth part verifies tokens, so the production profile applies to it. */
function verifiesTokens(config: RuntimeConfig): config is RuntimeConfig & AuthConfig {
  return 'DEV_AUTH' in config;
}

/**
 * Parses the environment with `app`'s schema: its variables only, others ignored. An app that verifies tokens must
 * also pass checkProductionProfile. Throws a ConfigError naming every problem.
 */
export function parseAppConfig<App extends AppName>(app: App, env: NodeJS.ProcessEnv = process.env): AppConfig<App> {
  const config = parseEnv(appSchemas[app], env);
  if (verifiesTokens(config)) checkProductionProfile(config);
  return config;
}

/**
 * parseAppConfig for an app's entry point: a bad environment, or one checkProductionProfile refuses, prints one line
 * to stderr (`settle-<app>: …`, no stack trace) and exits with code 1.
 */
export function loadAppConfig<App extends AppName>(app: App, env: NodeJS.ProcessEnv = process.env): AppConfig<App> {
  try {
    return parseAppConfig(app, env);
  } catch (error) {
    process.stderr.write(`settle-${app}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
