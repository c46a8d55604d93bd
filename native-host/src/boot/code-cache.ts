/**
 * The V8 code cache of the host bundle, one scheme for both entries: dist/'s (run-bundle.ts) and
 * the single executable's (sea-main.ts, whose blob is built without a code cache: `useCodeCache:
 * false`, the blob is made on Linux for every platform). See run-bundle.ts for why a cache of our
 * own and not module.enableCompileCache().
 *
 * One cache file per command (a run compiles only what its command touches, so each holds every
 * function its command ran), written at exit by the first run, into the user's cache folder. V8
 * checks a cache against its own version, its flags and the source length only, so the file name
 * carries the bundle's content hash: a rebuilt bundle never meets an old cache. A cache V8
 * rejects, or none at all, only means compiling as usual and writing a fresh one at exit.
 *
 * Because V8 checks only the length, a cache made from any other text of that length runs that
 * text instead of ours: a cache file is code. So it is used only from a folder nobody else can
 * write or swap (safe-paths.ts) and only when it is a regular file of ours that others cannot
 * write, opened without following a link. A folder that fails means running without the cache
 * (nothing read, nothing written there); a file that fails is ignored and replaced by ours.
 * ANAF_TOKEN_CODE_CACHE=off turns it off; ANAF_TOKEN_CACHE_DIR moves it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { folderProblem, readOwnFile, writeFileAtomic } from '../config/safe-paths.js';

export interface CodeCacheOptions {
  /** Told why a cache folder or file was not trusted (run-bundle.ts: a boot note for the log). */
  onRefused?: (problem: string) => void;
  /** Caches of other bundles to prune when a cache is written (see pruneOthers). */
  prune?: RegExp;
}

function cacheDir(): string {
  const env = process.env;
  if (env.ANAF_TOKEN_CACHE_DIR) return env.ANAF_TOKEN_CACHE_DIR;
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'anaf-token', 'cache');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'anaf-token');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'anaf-token');
}

/** The cache, when its folder and the file itself can be trusted (see above). */
function readCache(file: string, refused: (problem: string) => void): Buffer | undefined {
  try {
    const problem = folderProblem(path.dirname(file));
    if (problem) {
      refused(`${problem}; running without the code cache`);
      return undefined;
    }
    const read = readOwnFile(file);
    if (read.problem) refused(`${read.problem}; ignored, and replaced by a new one`);
    return read.data;
  } catch {
    return undefined;
  }
}

/** Writes beside and renames, so that a process reading at the same time sees all or nothing. */
function writeAtomically(file: string, data: Buffer): boolean {
  try {
    // Checked again: a folder made now is made 0700; one that fails the check gets nothing.
    if (folderProblem(path.dirname(file), { create: true, private: true })) return false;
    writeFileAtomic(file, data, 0o600);
    return true;
  } catch {
    // A read-only or full disk costs speed, never the command.
    return false;
  }
}

/**
 * Caches of an older bundle are not read again after an update: a few hundred KB per command
 * each. They go when a cache is written (the first run of a command after a change). Only those
 * a week old: another install of another version sharing the folder keeps its recent ones.
 */
const STALE_MS = 7 * 24 * 3600 * 1000;
function pruneOthers(dir: string, matching: RegExp, keepPrefix: string): void {
  try {
    const now = Date.now();
    for (const name of fs.readdirSync(dir)) {
      if (!matching.test(name) || name.startsWith(keepPrefix)) continue;
      const file = path.join(dir, name);
      if (now - fs.lstatSync(file).mtimeMs > STALE_MS) fs.rmSync(file, { force: true });
    }
  } catch {
    // Only tidiness is lost.
  }
}

/**
 * Compiles `source` (named `filename`) with the cache of `bundleName` (its content-hashed name)
 * for this command, and writes a fresh cache at exit when there was none or V8 rejected it.
 */
export function compileCached(source: string, filename: string, bundleName: string, opts: CodeCacheOptions = {}): vm.Script {
  if (process.env.ANAF_TOKEN_CODE_CACHE === 'off') return new vm.Script(source, { filename });
  const command = process.argv.slice(2).find((a) => /^[a-z][a-z-]*$/.test(a)) ?? 'none';
  const file = path.join(cacheDir(), `${bundleName}.${command}.${process.version}-${process.arch}.v8cache`);
  const cached = readCache(file, opts.onRefused ?? (() => {}));
  const script = new vm.Script(source, { filename, ...(cached ? { cachedData: cached } : {}) });
  if (!cached || script.cachedDataRejected) {
    process.once('exit', () => {
      if (writeAtomically(file, script.createCachedData()) && opts.prune) pruneOthers(path.dirname(file), opts.prune, `${bundleName}.`);
    });
  }
  return script;
}
