import { defineConfig } from 'vitest/config';

/**
 * The Windows build under wine (test/windows/): run after `npm run package` (scripts/test.sh).
 * One wine prefix and one wineserver for all: the files run one after another.
 */
export default defineConfig({
  test: {
    globalSetup: ['test/windows/global-setup.ts'],
    include: ['test/windows/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
