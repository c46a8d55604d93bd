/**
 * Builds the browser extension from manifest.json (paths in it are relative to extension/).
 *   npx vite build                → dist/extension/      (load this folder unpacked)
 *   ANAF_EXT_TEST_ORIGINS="https://erp.example.ro/* https://127.0.0.1/*" npx vite build
 *                                 → dist/extension-e2e/  (test build)
 * The test build lists the test callback origins in host_permissions, and the optional API
 * permissions "Obtain token" asks for with them in permissions, because headless Chromium cannot
 * show the run-time permission prompt; it never overwrites the real build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { crx, type ManifestV3Export } from '@crxjs/vite-plugin';
import { EXTENSION_PUBLIC_KEY } from './shared/src/extension-id.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface ManifestFile {
  key: string;
  permissions: string[];
  host_permissions: string[];
  optional_permissions?: string[];
  [field: string]: unknown;
}

const manifest = JSON.parse(fs.readFileSync(path.join(here, 'manifest.json'), 'utf8')) as ManifestFile;
// The ID the native host allows is derived from this key: a stale key would lock the extension out.
if (manifest.key !== EXTENSION_PUBLIC_KEY) throw new Error('manifest.json "key" differs from EXTENSION_PUBLIC_KEY in shared/src/extension-id.ts');

const MATCH_PATTERN = /^https:\/\/(\*\.)?[a-z0-9.-]+\/\*$/;
const testOrigins = (process.env.ANAF_EXT_TEST_ORIGINS ?? '').split(/[\s,]+/).filter(Boolean);
for (const o of testOrigins) if (!MATCH_PATTERN.test(o)) throw new Error(`ANAF_EXT_TEST_ORIGINS: "${o}" is not like https://host/*`);
const isTestBuild = testOrigins.length > 0;

const built = {
  ...manifest,
  host_permissions: [...new Set([...manifest.host_permissions, ...testOrigins])],
  ...(isTestBuild ? { permissions: [...new Set([...manifest.permissions, ...(manifest.optional_permissions ?? [])])] } : {}),
  ...(isTestBuild ? { version_name: `${String(manifest.version)} e2e` } : {}),
} as unknown as ManifestV3Export;

export default defineConfig({
  root: path.join(here, 'extension'),
  publicDir: false,
  plugins: [crx({ manifest: built })],
  build: {
    outDir: path.join(here, 'dist', isTestBuild ? 'extension-e2e' : 'extension'),
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: true,
    // callback.html is reached through the redirect rule and the worker opening it: no manifest field names it as a page.
    rollupOptions: {
      input: {
        callback: path.join(here, 'extension', 'callback.html'),
        request: path.join(here, 'extension', 'request.html'),
        // The bench's floor for opening a page (scripts/bench/popup.ts): in the test build only.
        ...(isTestBuild ? { 'bench-blank': path.join(here, 'extension', 'bench-blank.html') } : {}),
      },
    },
  },
});
