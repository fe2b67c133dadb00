import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@settle/config';
import { isAlive } from '@settle/stack';
import { Supervisor, type RestartPolicy } from '../../scripts/supervisor';

const entry = path.join(repoRoot, 'tests/fixtures/supervisor/app.ts');
const FAST: RestartPolicy = { baseMs: 20, factor: 2, capMs: 100, loopRestarts: 5, loopWindowMs: 60_000 };

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the npm start supervisor', () => {
  it('restarts a crashed app after a backoff, saying so in one line, and the new process keeps running', async () => {
    const marker = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'settle-supervisor-')), 'crashed');
    const lines: string[] = [];
    const loops: string[] = [];
    const supervisor = new Supervisor({ say: (line) => lines.push(line), crashLoop: (_name, reason) => loops.push(reason) }, FAST);
    supervisor.start({ name: 'fixture', entry, env: { ...process.env, FIXTURE_MODE: 'once', FIXTURE_MARKER: marker } });
    try {
      await until(() => lines.length === 1, 'the restart line');
      expect(lines[0]).toMatch(/^\[supervisor\] fixture exited with code 3; restarting it in \d+\.\d s \(restart 1 within 60 s\)$/);
      const crashedPid = Number(await fs.readFile(marker, 'utf8'));
      await until(() => supervisor.pidOf('fixture') !== undefined && supervisor.pidOf('fixture') !== crashedPid, 'a new process');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(isAlive(supervisor.pidOf('fixture') ?? -1)).toBe(true);
      expect(loops).toEqual([]);
    } finally {
      await supervisor.stopAll();
    }
    expect(isAlive(supervisor.pidOf('fixture') ?? -1)).toBe(false);
  }, 60_000);

  it('an app that keeps crashing is a crash loop after 5 restarts: one line naming it and why, and no more restarts', async () => {
    const lines: string[] = [];
    const loops: Array<{ name: string; reason: string }> = [];
    const supervisor = new Supervisor({ say: (line) => lines.push(line), crashLoop: (name, reason) => loops.push({ name, reason }) }, FAST);
    supervisor.start({ name: 'looping', entry, env: { ...process.env, FIXTURE_MODE: 'always' } });
    try {
      await until(() => loops.length === 1, 'the crash loop', 60_000);
      expect(lines).toHaveLength(5);
      expect(loops[0]).toEqual({
        name: 'looping',
        reason: 'looping exited with code 3 after 5 restarts in 60 s: a crash loop, see its log lines above',
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(lines).toHaveLength(5);
    } finally {
      await supervisor.stopAll();
    }
  }, 90_000);

  it('a crash while the stack stops is not restarted', async () => {
    const lines: string[] = [];
    const supervisor = new Supervisor(
      { say: (line) => lines.push(line), crashLoop: () => undefined },
      { ...FAST, baseMs: 2_000, capMs: 2_000 },
    );
    supervisor.start({ name: 'slow', entry, env: { ...process.env, FIXTURE_MODE: 'always' } });
    await until(() => lines.length === 1, 'the first restart line');
    await supervisor.stopAll();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(lines).toHaveLength(1);
  }, 60_000);
});
