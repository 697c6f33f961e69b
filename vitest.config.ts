import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.data/**', '.tools/**', '.scratch/**'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/temporal-runtime.ts'],
    // Temporal's native runtime is one per process, and the server-backed suites share one
    // PostgreSQL and one dev server: files run one at a time, each in its own fork.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
