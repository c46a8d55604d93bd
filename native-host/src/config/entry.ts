/**
 * Where the runnable files are. From a clone the host ships as one bundle in dist/, started by
 * dist/anaf-token.cjs, with its PKCS#11 worker beside it; run from sources (tests, tsx) the same
 * code points at those. Packaged (`npm run package`), it is one single executable (a Node SEA:
 * boot/sea-main.ts) that is its own CLI and runs the worker as a hidden subcommand.
 */
import path from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import { PACKAGE_CONFIG_ASSET, WORKER_SUBCOMMAND } from '../boot/sea-names.js';

const self = fileURLToPath(import.meta.url);
const fromSources = self.endsWith('.ts');
const here = path.dirname(self);
const dist = fromSources ? path.resolve(here, '..', '..', '..', 'dist') : here;

/** True in the single executable built by `npm run package`. */
export const PACKAGED: boolean = isSea();

/** The CLI that launchers, services and the browser's manifest run: the bundle's entry, or the executable itself. */
export const CLI_ENTRY = PACKAGED ? process.execPath : path.join(dist, 'anaf-token.cjs');

/**
 * How to start this CLI from outside (a launcher, a service, a manifest): the program and the
 * arguments that come before the subcommand. Node and the entry script from a clone; the
 * executable alone when packaged.
 */
export function hostCommand(): { program: string; args: string[] } {
  return PACKAGED ? { program: process.execPath, args: [] } : { program: process.execPath, args: [CLI_ENTRY] };
}

/** How to start the PKCS#11 worker (always with process.execPath): the bundled file, the source through tsx, or the hidden subcommand. */
export function workerArgs(): string[] {
  if (PACKAGED) return [WORKER_SUBCOMMAND];
  return fromSources ? ['--import', 'tsx', path.resolve(path.dirname(self), '..', 'pkcs11', 'worker-main.ts')] : [path.join(dist, 'pkcs11-worker.mjs')];
}

/**
 * The small GUI-subsystem program that starts `serve` with no console window (Windows: the
 * scheduled task runs it; scripts/package/launcher/). It ships beside the executable.
 */
export function windowsLauncherPath(): string {
  return path.join(PACKAGED ? path.dirname(process.execPath) : dist, 'anaf-token-launcher.exe');
}

/**
 * The extension IDs a packaged build was made for (the Chrome Web Store's and Edge Add-ons',
 * set at build time): its installers allow them in the host manifests, and the host accepts
 * them when the user has not chosen others (host-config.ts). None from a clone.
 */
export function packagedExtensionIds(): string[] {
  if (!PACKAGED) return [];
  const parsed: unknown = JSON.parse(getAsset(PACKAGE_CONFIG_ASSET, 'utf8'));
  const ids = (parsed as { allowedExtensionIds?: unknown }).allowedExtensionIds;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string' && /^[a-p]{32}$/.test(id)) : [];
}
