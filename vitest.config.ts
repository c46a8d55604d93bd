import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts', 'shared/**/*.test.ts', 'native-host/**/*.test.ts'],
    // The browser and the fault suites have their own configs (and run times).
    exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/faults/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests spawn CLI processes and servers; two cores are all we have.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
