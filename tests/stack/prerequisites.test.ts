import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@settle/config';
import { freePort } from '@settle/stack';
import { testStack } from '@settle/testkit';

/** A PATH holding only the named tools (as links to the real ones), so others look uninstalled. */
async function pathWith(dir: string, tools: string[]): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  for (const tool of tools) {
    const real = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (real !== '') await fs.symlink(real, path.join(dir, tool));
  }
  return dir;
}

describe('missing prerequisites', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-prereq-'));
  });
  afterAll(async () => {
    await fs.rm(scratch, { recursive: true, force: true });
  });

  async function start(binDir: string, tools: string[]): Promise<{ status: number | null; stderr: string }> {
    const env: NodeJS.ProcessEnv = {
      PATH: await pathWith(path.join(scratch, binDir), tools),
      // An empty home means no cached Kafka jars, so Maven would be needed.
      HOME: path.join(scratch, `${binDir}-home`),
      SETTLE_DATA_DIR: path.join(scratch, `${binDir}-data`),
      // Postgres comes from the test stack so that only the Kafka prerequisites are exercised.
      DATABASE_URL: testStack().adminDatabaseUrl,
      KAFKA_PORT: String(await freePort()),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
    };
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: repoRoot,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: result.status, stderr: result.stderr };
  }

  it('without java, npm start stops with one line that says what to install', async () => {
    const result = await start('no-java', ['sh', 'sleep', 'kill', 'mvn']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^settle: Java 17\+ is needed to run the local Kafka broker: install a JRE .* or set KAFKA_BROKERS/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('without mvn and with no cached jars, npm start stops with one line that says what to install', async () => {
    const result = await start('no-mvn', ['sh', 'sleep', 'kill', 'java']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^settle: Maven \(mvn\) is needed once to fetch the Kafka broker jars: install it .* or set KAFKA_BROKERS/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
