/** Builds what the browser runs: the native host bundle and the test build of the extension (vite). */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, TEST_ORIGINS } from './paths.js';

export const SYSTEM_TOOLS = [
  '/usr/bin/chromium',
  '/usr/bin/certutil',
  '/usr/bin/pk12util',
  '/usr/bin/modutil',
  '/usr/bin/softhsm2-util',
  '/usr/bin/pkcs11-tool',
  '/usr/bin/xvfb-run',
  '/usr/bin/xdotool',
];

export function checkSystem(): void {
  const missing = SYSTEM_TOOLS.filter((t) => !fs.existsSync(t));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run "bash scripts/setup-debian.sh" first`);
  if (process.getuid?.() !== 0) throw new Error('writing the Chromium policy under /etc/chromium needs root (CI runs as root)');
}

export function buildAll(stdio: 'inherit' | 'ignore' = 'inherit'): void {
  const node = process.execPath;
  execFileSync(node, [path.join(ROOT, 'scripts/build-host.mjs')], { cwd: ROOT, stdio });
  execFileSync(node, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio,
    env: { ...process.env, ANAF_EXT_TEST_ORIGINS: TEST_ORIGINS },
  });
}
