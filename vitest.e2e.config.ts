/**
 * The browser end-to-end suite: `npx vitest run --config vitest.e2e.config.ts` (as root; see
 * test/e2e/global-setup.ts). Files run one after another: they share the machine-wide Chromium
 * policy and the CPU, and each starts a browser.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // Each host call starts a Node process; on a busy two-core CI machine a second is not enough.
    expect: { poll: { timeout: 20_000, interval: 100 } },
    // The e2e files check this so that a plain `vitest run` (unit config) skips them.
    env: { ANAF_E2E: '1' },
  },
});
