/** Where the host keeps its files: one per-user data folder, overridable for tests and portable use. */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';

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

/** Creates the data folder readable by the user only (it holds the vault and maybe its key). */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') fs.chmodSync(dir, 0o700);
}
