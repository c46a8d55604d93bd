/**
 * V8 code cache for the single executable's host bundle (boot/sea-main.ts): the same scheme as
 * run-bundle.ts for dist/ (see there for why), which a SEA cannot use as is: its blob is built
 * without a code cache (`useCodeCache: false`, the blob is made on Linux for every platform), so
 * each run compiled the whole bundle. The cache is made on the user's machine by the executable
 * itself, one file per command, named with the bundle's content hash.
 *
 * A cache file is code (V8 checks only its version, flags and the source's length): it is read
 * only from a folder nobody else can write or swap and only when it is a regular file of ours
 * that others cannot write (safe-paths.ts); otherwise the bundle is compiled as usual.
 * ANAF_TOKEN_CODE_CACHE=off turns it off; ANAF_TOKEN_CACHE_DIR moves it.
 */
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { folderProblem, readOwnFile, writeFileAtomic } from '../config/safe-paths.js';

function cacheDir(): string {
  const env = process.env;
  if (env.ANAF_TOKEN_CACHE_DIR) return env.ANAF_TOKEN_CACHE_DIR;
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'anaf-token', 'cache');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'anaf-token');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'anaf-token');
}

/** Compiles `source` (named `filename`) with the cache of `bundleName` for this command, and writes a fresh cache at exit when there was none. */
export function compileCached(source: string, filename: string, bundleName: string): vm.Script {
  if (process.env.ANAF_TOKEN_CODE_CACHE === 'off') return new vm.Script(source, { filename });
  const command = process.argv.slice(2).find((a) => /^[a-z][a-z-]*$/.test(a)) ?? 'none';
  const file = path.join(cacheDir(), `${bundleName}.${command}.${process.version}-${process.arch}.v8cache`);
  const dir = path.dirname(file);
  let cached: Buffer | undefined;
  try {
    cached = folderProblem(dir) ? undefined : readOwnFile(file).data;
  } catch {
    cached = undefined;
  }
  const script = new vm.Script(source, { filename, ...(cached ? { cachedData: cached } : {}) });
  if (!cached || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        // Checked again: a folder made now is made private; one that fails the check gets nothing.
        if (!folderProblem(dir, { create: true, private: true })) writeFileAtomic(file, script.createCachedData(), 0o600);
      } catch {
        // A read-only or full disk costs speed, never the command.
      }
    });
  }
  return script;
}
