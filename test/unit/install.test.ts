import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NATIVE_HOST_NAME } from '#shared/index.js';
import { targetFor, targetForUserDataDir } from '../../native-host/src/install/browsers.js';
import { hostManifest, install, writeLauncher } from '../../native-host/src/install/install.js';
import { readConfig } from '../../native-host/src/config/host-config.js';
import { tempDir, tempPaths } from '../helpers/temp.js';

describe('native host registration', () => {
  it("knows each browser's manifest place on Linux, macOS and Windows", () => {
    expect(targetFor('chrome', 'linux', '/home/u')).toEqual({ kind: 'folder', browser: 'chrome', dir: '/home/u/.config/google-chrome/NativeMessagingHosts' });
    expect(targetFor('brave', 'linux', '/home/u')).toMatchObject({ dir: '/home/u/.config/BraveSoftware/Brave-Browser/NativeMessagingHosts' });
    expect(targetFor('edge', 'darwin', '/Users/u')).toMatchObject({ dir: '/Users/u/Library/Application Support/Microsoft Edge/NativeMessagingHosts' });
    expect(targetFor('chromium', 'win32')).toEqual({ kind: 'registry', browser: 'chromium', key: 'HKCU\\Software\\Chromium\\NativeMessagingHosts' });
    expect(targetForUserDataDir('/tmp/udd')).toMatchObject({ dir: '/tmp/udd/NativeMessagingHosts' });
  });

  it('writes a launcher with absolute paths, quoted for the shell, and a .cmd on Windows', () => {
    const paths = tempPaths("it's");
    const sh = writeLauncher({ paths, targets: [], extensionIds: [], nodePath: '/opt/node 20/bin/node', cliPath: '/x/main.js', platform: 'linux' });
    const text = fs.readFileSync(sh, 'utf8');
    expect(text).toContain(`exec '/opt/node 20/bin/node' '/x/main.js' native "$@"`);
    expect(text).toContain(`ANAF_TOKEN_HOME='${paths.dataDir.replace(/'/g, `'\\''`)}'`);
    expect(fs.statSync(sh).mode & 0o777).toBe(0o700);
    const cmd = writeLauncher({ paths, targets: [], extensionIds: [], nodePath: 'C:\\node\\node.exe', cliPath: 'C:\\a\\main.js', platform: 'win32' });
    expect(fs.readFileSync(cmd, 'utf8')).toBe('@echo off\r\n"C:\\node\\node.exe" "C:\\a\\main.js" native %*\r\n');
  });

  it('names the packaged executable itself on Windows (no .cmd), and runs it without an entry script elsewhere', () => {
    const paths = tempPaths();
    const exe = 'C:\\Users\\ion\\AppData\\Local\\Programs\\anaf-token\\anaf-token.exe';
    expect(writeLauncher({ paths, targets: [], extensionIds: [], nodePath: exe, platform: 'win32', packaged: true })).toBe(exe);
    expect(fs.existsSync(paths.launcherDir) ? fs.readdirSync(paths.launcherDir) : []).toEqual([]);
    const sh = writeLauncher({ paths, targets: [], extensionIds: [], nodePath: '/usr/lib/anaf-token/anaf-token', platform: 'linux', packaged: true });
    expect(fs.readFileSync(sh, 'utf8')).toContain(`exec '/usr/lib/anaf-token/anaf-token' native "$@"`);
  });

  it("writes the manifest and the allowed IDs for the host's own check", () => {
    const paths = tempPaths();
    const udd = tempDir('udd');
    const ids = ['a'.repeat(32), 'b'.repeat(32)];
    const [done] = install({ paths, targets: [targetForUserDataDir(udd)], extensionIds: ids, platform: 'linux' });
    expect(done!.manifest).toBe(path.join(udd, 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`));
    const m = JSON.parse(fs.readFileSync(done!.manifest, 'utf8'));
    expect(m).toEqual(hostManifest(m.path, ids));
    expect(m.allowed_origins).toEqual(ids.map((i) => `chrome-extension://${i}/`));
    expect(readConfig(paths).allowedExtensionIds).toEqual(ids);
  });
});
