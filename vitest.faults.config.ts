import { defineConfig } from 'vitest/config';

/** The fault and abuse suite (`npm run test:faults`): long-running, one file at a time. */
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
