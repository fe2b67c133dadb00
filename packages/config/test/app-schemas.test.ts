import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  APP_VARIABLES,
  CONFIG_VARIABLES,
  ConfigError,
  loadConfig,
  parseAppConfig,
  type AppName,
  type Config,
  type RelayConfig,
  type WorkerConfig,
} from '@settle/config';

const APPS = Object.keys(APP_VARIABLES) as AppName[];

/** The message loadConfig (every part at once) gives for `env`, or undefined when it accepts it. */
function fullMessage(env: NodeJS.ProcessEnv): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('per-app config schemas', () => {
  it('has one schema per entry point, and every variable is read by at least one of them', () => {
    expect(APPS.sort()).toEqual(['api', 'notifier', 'ops', 'relay', 'setup', 'worker']);
    const read = new Set(APPS.flatMap((app) => APP_VARIABLES[app]));
    expect([...read].sort()).toEqual([...CONFIG_VARIABLES].sort());
    expect(CONFIG_VARIABLES).toHaveLength(new Set(CONFIG_VARIABLES).size);
  });

  it('gives each app the parts it reads and none it does not', () => {
    expect(APP_VARIABLES.relay).toEqual(
      expect.arrayContaining(['RELAY_LINGER_MS', 'RELAY_STATUS_INTERVAL_MS', 'RELAY_SLOT', 'KAFKA_BROKERS']),
    );
    expect(APP_VARIABLES.relay.filter((name) => /^(WEBHOOK_|JWT_|JWKS_|NOTIFIER_|API_|TIMER_)/.test(name))).toEqual([]);
    expect(APP_VARIABLES.worker.filter((name) => /^(KAFKA_|WEBHOOK_|JWT_|RELAY_|NOTIFIER_)/.test(name))).toEqual([]);
    expect(APP_VARIABLES.worker).toEqual(expect.arrayContaining(['WORKER_INTERVAL_MS', 'RETENTION_DAYS', 'TIMER_OPEN', 'DATABASE_URL']));
    expect(APP_VARIABLES.api).toEqual(expect.arrayContaining(['PORT', 'JWT_SECRET', 'WEBHOOK_ALLOWED_HOSTS', 'MERCHANT_FEE_BPS']));
    expect(APP_VARIABLES.api.filter((name) => /^(KAFKA_|RELAY_|WORKER_|RETENTION_)/.test(name))).toEqual([]);
    expect(APP_VARIABLES.notifier).toEqual(expect.arrayContaining(['WEBHOOK_TIMEOUT_MS', 'KAFKA_BROKERS', 'REDIS_URL', 'JWKS_URL']));
    expect(APP_VARIABLES.ops).toEqual(
      expect.arrayContaining(['DLQ_MAX_REPLAYS', 'RELAY_PORT', 'NOTIFIER_GROUP_ID', 'PG_PORT', 'JWT_SECRET']),
    );
    expectTypeOf<RelayConfig>().not.toHaveProperty('WEBHOOK_TIMEOUT_MS');
    expectTypeOf<RelayConfig>().toHaveProperty('RELAY_LINGER_MS').toEqualTypeOf<number>();
    expectTypeOf<WorkerConfig>().not.toHaveProperty('KAFKA_BROKERS');
    expectTypeOf<Config>().toExtend<RelayConfig>();
  });

  it('an app schema accepts its own variables with the same values and defaults as the full composition', () => {
    const env = { RELAY_LINGER_MS: '50', RELAY_SLOT: 'my_slot', KAFKA_BROKERS: ' k1:9092 , k2:9092 ' };
    const relay = parseAppConfig('relay', env);
    expect(relay.RELAY_LINGER_MS).toBe(50);
    expect(relay.RELAY_SLOT).toBe('my_slot');
    expect(relay.KAFKA_BROKERS).toEqual(['k1:9092', 'k2:9092']);
    const full = loadConfig(env);
    for (const app of APPS) {
      const config = parseAppConfig(app, env) as Record<string, unknown>;
      expect(Object.keys(config).sort(), app).toEqual([...APP_VARIABLES[app]].filter((name) => name in config).sort());
      for (const [name, value] of Object.entries(config)) expect(value, `${app} ${name}`).toEqual(full[name as keyof Config]);
    }
  });

  it("ignores other apps' variables, even invalid ones", () => {
    const env = { WEBHOOK_TIMEOUT_MS: 'soon', JWT_PUBLIC_KEY: 'not a key', API_PG_POOL_MAX: '0', NOTIFIER_ALLOWED_ORIGINS: 'nowhere' };
    expect(fullMessage(env)).toMatch(/^invalid environment: /);
    const relay = parseAppConfig('relay', env);
    expect(relay).not.toHaveProperty('WEBHOOK_TIMEOUT_MS');
    expect(relay).not.toHaveProperty('JWT_PUBLIC_KEY');
    expect(() => parseAppConfig('worker', env)).not.toThrow();
    expect(() => parseAppConfig('setup', env)).not.toThrow();
  });

  it('refuses a bad value of its own with the same one-line message as the full composition', () => {
    let checked = 0;
    for (const app of APPS) {
      for (const name of APP_VARIABLES[app]) {
        for (const bad of ['bogus', '-5']) {
          const expected = fullMessage({ [name]: bad });
          if (expected === undefined) continue;
          expect(() => parseAppConfig(app, { [name]: bad }), `${app} ${name}=${bad}`).toThrow(ConfigError);
          expect(() => parseAppConfig(app, { [name]: bad }), `${app} ${name}=${bad}`).toThrow(expected);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(() => parseAppConfig('relay', { RELAY_LINGER_MS: '20000' })).toThrow(
      'invalid environment: RELAY_LINGER_MS: Too big: expected number to be <=10000',
    );
    expect(() => parseAppConfig('api', { KAFKA_BROKERS: 'kafka' })).not.toThrow();
    expect(() => parseAppConfig('notifier', { KAFKA_BROKERS: 'kafka' })).toThrow(
      'invalid environment: KAFKA_BROKERS.0: KAFKA_BROKERS lists host:port pairs separated by commas, e.g. kafka-1:9092,kafka-2:9092',
    );
  });

  it('holds the apps that verify tokens to the production profile, and only those', () => {
    const production = { NODE_ENV: 'production' };
    for (const app of ['api', 'notifier', 'ops'] as const) {
      expect(() => parseAppConfig(app, production), app).toThrow(
        'refusing to start in production: no token verification key: set JWKS_URL, JWT_PUBLIC_KEY or JWT_SECRET',
      );
    }
    for (const app of ['relay', 'worker', 'setup'] as const) expect(parseAppConfig(app, production).NODE_ENV, app).toBe('production');
  });
});
