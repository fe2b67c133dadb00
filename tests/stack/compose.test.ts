import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APP_NODE_FLAGS, checkProductionProfile, CONFIG_VARIABLES, loadConfig, repoRoot } from '@settle/config';

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

  it('gives every app what it needs in production once a verification key is in .env, and refuses as committed', () => {
    for (const [name, service] of built) {
      const env = environmentOf(service);
      // As committed, .env.example has no key: every app that verifies tokens refuses to start, in one line.
      if (name === 'api' || name === 'notifier')
        expect(() => checkProductionProfile(loadConfig(env)), name).toThrow(/refusing to start in production: .*(JWT_SECRET|key)/);
      const config = checkProductionProfile(loadConfig({ ...env, JWT_SECRET: randomBytes(48).toString('base64') }));
      expect(config.DEV_AUTH, name).toBe(false);
      expect(config.DATABASE_URL, name).toBe('postgres://postgres:settle@postgres:5432/settle');
      expect(config.KAFKA_BROKERS, name).toEqual(['kafka:9092']);
      // Inside a container an app must listen on every interface for its published port to reach it.
      expect(config.HOST, name).toBe('0.0.0.0');
    }
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
