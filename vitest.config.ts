import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts', 'shared/**/*.test.ts', 'native-host/**/*.test.ts'],
    // The browser, the fault and the Windows (wine, after npm run package) suites have their own configs.
    exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/faults/**', 'test/windows/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests spawn CLI processes and servers; two cores are all we have.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
