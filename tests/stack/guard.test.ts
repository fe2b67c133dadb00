import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { guardChild, isAlive, waitForExit } from '@settle/stack';

const spawned: number[] = [];
afterEach(() => {
  for (const pid of spawned.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A process that runs until signalled (it never watches an owner itself: the guard must stop it). */
function longRunning(): number {
  const child = spawn('sleep', ['120'], { detached: true, stdio: 'ignore' });
  child.unref();
  spawned.push(child.pid as number);
  return child.pid as number;
}

/** An owner that exits by itself after `seconds`. */
function ownerFor(seconds: number): number {
  const owner = spawn('sleep', [String(seconds)], { stdio: 'ignore' });
  spawned.push(owner.pid as number);
  return owner.pid as number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('guardChild', () => {
  it('stops the child once its owner is gone, after the grace it is given to stop by itself', async () => {
    const owner = ownerFor(1);
    const child = longRunning();
    guardChild(child, 'TERM', { owner, graceSeconds: 3 });
    expect(await waitForExit(owner, 5_000)).toBe(true);
    // Within the grace the child is left alone (an app would be stopping cleanly by itself meanwhile).
    await sleep(1_000);
    expect(isAlive(child)).toBe(true);
    expect(await waitForExit(child, 8_000)).toBe(true);
  }, 20_000);

  it('leaves the child alone while its owner lives', async () => {
    const owner = longRunning();
    const child = longRunning();
    guardChild(child, 'TERM', { owner });
    await sleep(2_500);
    expect(isAlive(child)).toBe(true);
    process.kill(owner, 'SIGKILL');
    expect(await waitForExit(child, 6_000)).toBe(true);
  }, 20_000);
});
