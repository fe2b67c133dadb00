import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APP_NODE_FLAGS, APP_VARIABLES, CONFIG_VARIABLES, parseAppConfig, repoRoot, type AppName } from '@settle/config';

interface Service {
  image?: string;
  build?: { dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number>;
  env_file?: string;
  restart?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const built = Object.entries(services).filter(([, service]) => service.build !== undefined);
/** The variables of .env.example, as `env_file: .env` passes them once it is copied (values as committed). */
const envExample = Object.fromEntries(
  readFileSync(path.join(repoRoot, '.env.example'), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
/** Variables the image reads itself (not the apps' config): which app to start and its node flags. */
const IMAGE_VARIABLES = ['SETTLE_APP', 'NODE_FLAGS'];
/** The settings every app service gets (the `&app-env` block, which `migrate` sets as its own). */
const SHARED_VARIABLES = Object.keys(services['migrate']?.environment ?? {});
/** The entry point a service runs: `migrate` runs scripts/setup.ts, the others their app. */
const appOf = (name: string): AppName => (name === 'migrate' ? 'setup' : (name as AppName));
const environmentOf = (service: Service): Record<string, string> => ({
  ...(service.env_file === undefined ? {} : envExample),
  ...Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value)])),
  NODE_ENV: 'production',
});

describe('docker-compose.yml against the apps', () => {
  it('sets no variable that no app reads, in the compose file and in .env.example', () => {
    expect(built.map(([name]) => name).sort()).toEqual(['api', 'migrate', 'notifier', 'relay', 'worker']);
    for (const [name, service] of built) {
      const unknown = Object.keys(environmentOf(service)).filter(
        (key) => !CONFIG_VARIABLES.includes(key) && !IMAGE_VARIABLES.includes(key),
      );
      expect(unknown, `${name} sets variables no app reads`).toEqual([]);
    }
  });

  it("sets on each service, beyond the shared block and .env, only variables its own app's schema reads", () => {
    expect(SHARED_VARIABLES.sort()).toEqual(['DATABASE_URL', 'HOST', 'KAFKA_BROKERS']);
    for (const [name, service] of built) {
      const own = Object.keys(service.environment ?? {}).filter((key) => !SHARED_VARIABLES.includes(key) && !IMAGE_VARIABLES.includes(key));
      expect(
        own.filter((key) => !APP_VARIABLES[appOf(name)].includes(key)),
        `${name} sets variables ${appOf(name)} does not read`,
      ).toEqual([]);
    }
    expect(Object.keys(services['notifier']?.environment ?? {})).toContain('REDIS_URL');
    expect(APP_VARIABLES.relay).not.toContain('REDIS_URL');
  });

  it("parses every app's environment with its own schema in production once a verification key is in .env, and refuses as committed", () => {
    for (const [name, service] of built) {
      const app = appOf(name);
      const env = environmentOf(service);
      const reads = (variable: string): boolean => APP_VARIABLES[app].includes(variable);
      // As committed, .env.example has no key: every app that verifies tokens refuses to start, in one line; the others start.
      if (reads('JWT_SECRET')) expect(() => parseAppConfig(app, env), name).toThrow(/refusing to start in production: .*(JWT_SECRET|key)/);
      else expect(parseAppConfig(app, env).NODE_ENV, name).toBe('production');
      const config: Record<string, unknown> = parseAppConfig(app, { ...env, JWT_SECRET: randomBytes(48).toString('base64') });
      expect(config['DATABASE_URL'], name).toBe('postgres://postgres:settle@postgres:5432/settle');
      if (reads('DEV_AUTH')) expect(config['DEV_AUTH'], name).toBe(false);
      if (reads('KAFKA_BROKERS')) expect(config['KAFKA_BROKERS'], name).toEqual(['kafka:9092']);
      else expect(config, name).not.toHaveProperty('KAFKA_BROKERS');
      // Inside a container an app must listen on every interface for its published port to reach it.
      if (name !== 'migrate') expect(config['HOST'], name).toBe('0.0.0.0');
    }
    expect(APP_VARIABLES.worker).not.toContain('KAFKA_BROKERS');
    expect(APP_VARIABLES.relay).toContain('KAFKA_BROKERS');
  });

  it('starts each app from its entry point with its node flags, restarts it, and checks its /ready port', () => {
    const ports: Record<string, number> = { api: 3000, notifier: 3001, relay: 3002, worker: 3003 };
    for (const [name, service] of built.filter(([name]) => name !== 'migrate')) {
      const app = String(service.environment?.['SETTLE_APP']);
      expect(app, name).toBe(name);
      expect(existsSync(path.join(repoRoot, 'apps', app, 'src', 'main.ts')), name).toBe(true);
      expect(service.restart, name).toBe('unless-stopped');
      expect(service.healthcheck?.test.join(' '), name).toContain(`http://127.0.0.1:${ports[name]}/ready`);
      expect(service.depends_on?.['migrate']?.condition, name).toBe('service_completed_successfully');
      expect(String(service.environment?.['NODE_FLAGS'] ?? ''), name).toBe((APP_NODE_FLAGS[app] ?? []).join(' '));
    }
    const migrate = services['migrate']!;
    expect(migrate.command?.slice(-1)).toEqual(['scripts/setup.ts']);
    expect(existsSync(path.join(repoRoot, 'scripts/setup.ts'))).toBe(true);
  });

  it('runs Postgres 18 with logical WAL and health-checks the infrastructure', () => {
    expect(services['postgres']?.image).toBe('postgres:18');
    expect(services['postgres']?.command).toEqual(expect.arrayContaining(['wal_level=logical']));
    for (const name of ['postgres', 'kafka', 'redis']) expect(services[name]?.healthcheck, name).toBeDefined();
  });

  it('builds a multi-stage, non-root image on Node 24 with production dependencies only', () => {
    const dockerfile = readFileSync(path.join(repoRoot, 'infra/docker/Dockerfile'), 'utf8');
    const stages = dockerfile.split('\n').filter((line) => line.startsWith('FROM '));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toMatch(/^FROM node:24-/);
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toContain('npm ci --omit=dev');
    expect(final).toMatch(/\nUSER node\n/);
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '.git', '.env']));
  });
});
