/** Where the host keeps its files: one per-user data folder, overridable for tests and portable use. */
import os from 'node:os';
import path from 'node:path';
import { AppError } from '#shared/errors.js';
import { folderProblem, type FolderOptions } from './safe-paths.js';

export interface Paths {
  dataDir: string;
  vaultFile: string;
  keyFile: string;
  configFile: string;
  logFile: string;
  launcherDir: string;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.ANAF_TOKEN_HOME) return path.resolve(env.ANAF_TOKEN_HOME);
  const home = env.HOME ?? os.homedir();
  if (platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'anaf-token');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'anaf-token');
  return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'anaf-token');
}

export function resolvePaths(dataDir = defaultDataDir()): Paths {
  return {
    dataDir,
    vaultFile: path.join(dataDir, 'vault.sqlite'),
    keyFile: path.join(dataDir, 'vault.key'),
    configFile: path.join(dataDir, 'config.json'),
    logFile: path.join(dataDir, 'logs', 'anaf-token.log'),
    launcherDir: path.join(dataDir, 'native-host'),
  };
}

/** A folder checked before use (safe-paths.ts), made when asked; a problem is UNSAFE_FOLDER naming it. */
export function ensureSafeDir(dir: string, opts: FolderOptions): void {
  const problem = folderProblem(dir, opts);
  if (problem) throw new AppError('UNSAFE_FOLDER', problem);
}

/**
 * The data folder, or a folder in it: made 0700 when missing, else checked (ours, a real
 * folder, nobody else can write it or swap it: safe-paths.ts) and made private. UNSAFE_FOLDER otherwise.
 */
export function ensurePrivateDir(dir: string): void {
  ensureSafeDir(dir, { create: true, private: true });
}

/** Before a command reads or writes anything in the data folder: it and its log folder. */
export function ensureDataDirs(paths: Paths): void {
  ensurePrivateDir(paths.dataDir);
  ensurePrivateDir(path.dirname(paths.logFile));
}
