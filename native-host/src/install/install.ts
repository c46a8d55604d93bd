/**
 * Registers the native host: a launcher (absolute node + absolute CLI path, so the browser's
 * minimal environment is enough) and a manifest naming it, for each browser asked for.
 *
 * Whoever can replace the manifest or the launcher runs their program as the user the next
 * time the browser starts the host. So every folder written into is checked first (ours, not
 * writable by others, not swappable: safe-paths.ts; UNSAFE_FOLDER otherwise), folders we make
 * are 0700, and the files get explicit modes whatever the umask: the launcher 0700 (in the
 * private data folder), the manifest 0644 (readable, written only by us).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { AppError } from '#shared/errors.js';
import { NATIVE_HOST_NAME } from '#shared/protocol/constants.js';
import { ensurePrivateDir, ensureSafeDir, type Paths } from '../config/paths.js';
import { writeFileAtomic } from '../config/safe-paths.js';
import { PACKAGED, hostCommand } from '../config/entry.js';
import { readConfig, writeConfig } from '../config/host-config.js';
import { targetFor, type Browser, type Target } from './browsers.js';

export interface InstallOptions {
  paths: Paths;
  targets: Target[];
  extensionIds: string[];
  platform?: NodeJS.Platform;
  /** The CLI entry to run; defaults to this build's bundle (none when packaged). */
  cliPath?: string;
  /** node, or the packaged executable; defaults to this build's. */
  nodePath?: string;
  /** The packaged executable itself (Windows): the manifest names it, with no .cmd in between. */
  packaged?: boolean;
}

export interface InstalledTarget {
  browser: string;
  manifest: string;
  registryKey?: string;
}

/** The launcher: run by the browser as this user only. */
export const LAUNCHER_MODE = 0o700;
/** The host manifest: the browser (this user) reads it; nobody else may change it. */
export const MANIFEST_MODE = 0o644;

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function writeLauncher(opts: InstallOptions): string {
  const platform = opts.platform ?? process.platform;
  const own = hostCommand();
  const node = opts.nodePath ?? own.program;
  const cli = opts.nodePath !== undefined ? opts.cliPath : (opts.cliPath ?? own.args[0]);
  const program = [node, ...(cli !== undefined ? [cli] : [])];
  ensurePrivateDir(opts.paths.launcherDir);
  if (platform === 'win32') {
    // The packaged executable takes the browser's arguments itself (boot/sea-main.ts); the data
    // folder is the default one (%LOCALAPPDATA%\anaf-token), as for the MSI's registration.
    if (opts.packaged ?? PACKAGED) return node;
    const file = path.join(opts.paths.launcherDir, 'anaf-token-native.cmd');
    writeFileAtomic(file, `@echo off\r\n${program.map((p) => `"${p}"`).join(' ')} native %*\r\n`, LAUNCHER_MODE);
    return file;
  }
  const file = path.join(opts.paths.launcherDir, 'anaf-token-native.sh');
  // The data folder is passed on so the host finds the same vault whatever HOME the browser has.
  const script = [
    '#!/bin/sh',
    `ANAF_TOKEN_HOME=${shQuote(opts.paths.dataDir)}`,
    'export ANAF_TOKEN_HOME',
    `exec ${program.map(shQuote).join(' ')} native "$@"`,
    '',
  ].join('\n');
  writeFileAtomic(file, script, LAUNCHER_MODE);
  return file;
}

export function hostManifest(launcher: string, extensionIds: string[]) {
  return {
    name: NATIVE_HOST_NAME,
    description: 'anaf-token: ANAF OAuth tokens for e-Factura and e-Transport',
    path: launcher,
    type: 'stdio',
    allowed_origins: extensionIds.map((id) => `chrome-extension://${id}/`),
  };
}

export function install(opts: InstallOptions): InstalledTarget[] {
  const platform = opts.platform ?? process.platform;
  const config = readConfig(opts.paths);
  const ids = [...new Set([...opts.extensionIds])];
  writeConfig(opts.paths, { ...config, allowedExtensionIds: ids });
  const launcher = writeLauncher(opts);
  const manifest = JSON.stringify(hostManifest(launcher, ids), null, 2) + '\n';
  const done: InstalledTarget[] = [];
  for (const t of opts.targets) {
    try {
      if (t.kind === 'folder') {
        ensureSafeDir(t.dir, { create: true });
        const file = path.join(t.dir, `${NATIVE_HOST_NAME}.json`);
        writeFileAtomic(file, manifest, MANIFEST_MODE);
        done.push({ browser: t.browser, manifest: file });
      } else {
        // Windows: the manifest sits beside the launcher; the registry key points to it.
        const file = path.join(opts.paths.launcherDir, `${NATIVE_HOST_NAME}.${t.browser}.json`);
        writeFileAtomic(file, manifest, MANIFEST_MODE);
        const key = `${t.key}\\${NATIVE_HOST_NAME}`;
        if (platform === 'win32') execFileSync('reg', ['add', key, '/ve', '/t', 'REG_SZ', '/d', file, '/f'], { stdio: 'ignore' });
        done.push({ browser: t.browser, manifest: file, registryKey: key });
      }
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('INSTALL_FAILED', `${t.browser}: ${(e as Error).message}`, { cause: e });
    }
  }
  return done;
}

export function uninstall(opts: Pick<InstallOptions, 'paths' | 'targets' | 'platform'>): InstalledTarget[] {
  const platform = opts.platform ?? process.platform;
  const removed: InstalledTarget[] = [];
  for (const t of opts.targets) {
    if (t.kind === 'folder') {
      const file = path.join(t.dir, `${NATIVE_HOST_NAME}.json`);
      if (fs.existsSync(file)) {
        fs.rmSync(file);
        removed.push({ browser: t.browser, manifest: file });
      }
    } else {
      const file = path.join(opts.paths.launcherDir, `${NATIVE_HOST_NAME}.${t.browser}.json`);
      const key = `${t.key}\\${NATIVE_HOST_NAME}`;
      if (platform === 'win32') {
        try {
          execFileSync('reg', ['delete', key, '/f'], { stdio: 'ignore' });
        } catch {
          /* not registered */
        }
      }
      fs.rmSync(file, { force: true });
      removed.push({ browser: t.browser, manifest: file, registryKey: key });
    }
  }
  return removed;
}

export function browserTargets(browsers: Browser[], platform = process.platform): Target[] {
  return browsers.map((b) => targetFor(b, platform));
}
