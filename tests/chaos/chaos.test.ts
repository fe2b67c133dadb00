import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@settle/config';
import { runAlone } from '@settle/testkit';

/** `npm run chaos -- --minutes 1`: a stack of its own under faults, checked for loss, reorder and duplicates. */
function chaos(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/chaos/run.ts', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('the chaos run', () => {
  runAlone();

  it('refuses bad arguments in one line', async () => {
    for (const [args, reason] of [
      [['--minutes', 'ten'], '--minutes must be a number from 0.5 to 600, not ten'],
      [['--rate', '0'], '--rate must be a number of lifecycles per second above 0 and at most 50, not 0'],
      [['--speed', '3'], "Unknown option '--speed'"],
    ] as const) {
      const result = await chaos([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.output.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.output, args.join(' ')).toContain(reason);
    }
  });

  it('loses, reorders and duplicates nothing while the relay and notifier are killed and Kafka and Postgres restart', async () => {
    const result = await chaos(['--minutes', '1']);
    expect(result.code, result.output).toBe(0);
    for (const fault of ['relay SIGKILL #1', 'relay SIGKILL #2', 'notifier SIGKILL', 'Kafka restart', 'Postgres restart'])
      expect(result.output).toMatch(new RegExp(`${fault}\\s+\\d+ s\\s+\\d+\\.\\d s`));
    for (const figure of [
      'committed events missing from Kafka',
      'per-order reorders in Kafka',
      'events missing on a merchant screen after a final reconnect',
      'duplicate or older statuses shown',
      'dead letters for committed events (topic + table)',
      '5xx answers that were not 503 problem+json',
      'lifecycles that failed',
    ]) {
      expect(result.output).toMatch(new RegExp(`${figure.replace(/[()+]/g, '\\$&')}\\s+0\\s+0\\n`));
    }
    const orders = /orders: (\d+) .*events committed (\d+)/.exec(result.output);
    expect(Number(orders?.[1])).toBeGreaterThan(50);
    expect(Number(orders?.[2])).toBeGreaterThan(200);
  }, 900_000);
});
