import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'cli/**/*.test.ts'],
    environment: 'node',
    // tfjs backends are process-global; one fork per file keeps them isolated.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
