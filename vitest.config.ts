import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts', 'shared/**/*.test.ts', 'native-host/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests spawn CLI processes and servers; two cores are all we have.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
