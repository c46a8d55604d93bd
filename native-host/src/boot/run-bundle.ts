/**
 * The CLI's entry (dist/anaf-token.cjs): runs the bundled host through a V8 code cache.
 *
 * The browser starts `native` and the ERP starts `token` many times a day, and compiling the
 * bundle was a third of their start-up. The cache is written at exit by the first run of each
 * command (a run compiles only what that command touches), so it holds every function that
 * command ran, into the user's cache folder.
 *
 * Node 22's own module.enableCompileCache() was measured in its place and lost: it serializes a
 * file's code right after compiling it, before anything runs, so it keeps only the top level
 * (97 KB of the bundle's code, against 333 KB here for `token`); the functions, compiled on first
 * call, are compiled again in every process. Alternating runs on Node 22.23.2: `token` 2.07× a
 * bare `node -e 0` with it, 1.76× with this file; the native host's one-shot 2.13× a bare echo
 * host, 1.51× with this file.
 *
 * V8 checks a cache against its own version, its flags and the source length only, so the file
 * name carries the bundle's content hash: a rebuilt bundle never meets an old cache. A cache V8
 * rejects, or none at all, only means compiling as usual and writing a fresh one at exit.
 * ANAF_TOKEN_CODE_CACHE=off turns it off; ANAF_TOKEN_CACHE_DIR moves it.
 *
 * Because V8 checks only the length, a cache made from any other text of that length runs that
 * text instead of ours: a cache file is code. So it is used only from a folder nobody else can
 * write or swap (safe-paths.ts) and only when it is a regular file of ours that others cannot
 * write, opened without following a link. A folder that fails means running without the cache
 * (nothing read, nothing written there); a file that fails is ignored and replaced by ours.
 * Either way the host's log gets a `code-cache.refused` warning (boot/notes.ts).
 */
import fs from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { folderProblem, readOwnFile, writeFileAtomic } from '../config/safe-paths.js';
import { addBootNote } from './notes.js';
import { usePrivateUmask } from './umask.js';

// Whatever this process makes (caches, logs, the vault, manifests, units) is private unless
// given a wider mode explicitly; a umask of 000 in the user's profile changes nothing.
usePrivateUmask();

/** The bundle's file name, with its content hash; set by scripts/build-host.mjs. */
declare const BUNDLE_FILE: string;

function cacheDir(): string {
  const env = process.env;
  if (env.ANAF_TOKEN_CACHE_DIR) return env.ANAF_TOKEN_CACHE_DIR;
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'anaf-token', 'cache');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'anaf-token');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'anaf-token');
}

const refused = (problem: string) => addBootNote({ event: 'code-cache.refused', fields: { problem } });

/** The cache, when its folder and the file itself can be trusted (see above). */
function readCache(file: string): Buffer | undefined {
  const problem = folderProblem(path.dirname(file));
  if (problem) {
    refused(`${problem}; running without the code cache`);
    return undefined;
  }
  const read = readOwnFile(file);
  if (read.problem) refused(`${read.problem}; ignored, and replaced by a new one`);
  return read.data;
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
function pruneOthers(dir: string, keepPrefix: string): void {
  try {
    const now = Date.now();
    for (const name of fs.readdirSync(dir)) {
      if (!/^host-[A-Za-z0-9]+\.cjs\..+\.v8cache$/.test(name) || name.startsWith(keepPrefix)) continue;
      const file = path.join(dir, name);
      if (now - fs.lstatSync(file).mtimeMs > STALE_MS) fs.rmSync(file, { force: true });
    }
  } catch {
    // Only tidiness is lost.
  }
}

const bundle = path.join(__dirname, BUNDLE_FILE);
// ASCII only (the build checks), so latin1 reads it exactly, without decoding UTF-8.
const source = fs.readFileSync(bundle, 'latin1');
const useCache = process.env.ANAF_TOKEN_CODE_CACHE !== 'off';
// One cache per command: each holds the functions its own command compiled.
const command = process.argv.slice(2).find((a) => /^[a-z][a-z-]*$/.test(a)) ?? 'none';
const cacheFile = path.join(cacheDir(), `${BUNDLE_FILE}.${command}.${process.version}-${process.arch}.v8cache`);
const cached = useCache ? readCache(cacheFile) : undefined;

// The bundle's text is already `(function (exports, require, module, __filename, __dirname) {…})`.
const script = new vm.Script(source, { filename: bundle, ...(cached ? { cachedData: cached } : {}) });
if (useCache && (!cached || script.cachedDataRejected)) {
  process.once('exit', () => {
    if (writeAtomically(cacheFile, script.createCachedData())) pruneOthers(path.dirname(cacheFile), `${BUNDLE_FILE}.`);
  });
}

const mod = new Module(bundle, module);
mod.filename = bundle;
const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
run.call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, __dirname);
