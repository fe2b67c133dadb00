import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
    // Files run in parallel: each has its own database and topics (see packages/testkit).
    fileParallelism: true,
    maxWorkers: 2,
    // Two files at a time on 2 cores, with generous timeouts: some files start whole systems (npm start, API + relay + notifier).
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
