/**
 * Where the runnable files are. The host ships as one bundle in dist/, started by
 * dist/anaf-token.cjs, with its PKCS#11 worker beside it; run from sources (tests, tsx) the same code points at those.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const fromSources = self.endsWith('.ts');
const here = path.dirname(self);
const dist = fromSources ? path.resolve(here, '..', '..', '..', 'dist') : here;

/** The CLI that launchers, services and the browser's manifest run. */
export const CLI_ENTRY = path.join(dist, 'anaf-token.cjs');

/** How to start the PKCS#11 worker: the bundled file, or the source through tsx. */
export function workerArgs(): string[] {
  return fromSources ? ['--import', 'tsx', path.resolve(path.dirname(self), '..', 'pkcs11', 'worker-main.ts')] : [path.join(dist, 'pkcs11-worker.mjs')];
}
