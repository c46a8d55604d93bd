/**
 * Where each Chromium-family browser looks for native messaging host manifests, per user
 * (no root needed): folders on Linux and macOS, a registry key on Windows.
 */
import os from 'node:os';
import path from 'node:path';

export const BROWSERS = ['chrome', 'chromium', 'edge', 'brave'] as const;
export type Browser = (typeof BROWSERS)[number];

const LINUX: Record<Browser, string> = {
  chrome: '.config/google-chrome',
  chromium: '.config/chromium',
  edge: '.config/microsoft-edge',
  brave: '.config/BraveSoftware/Brave-Browser',
};
const MAC: Record<Browser, string> = {
  chrome: 'Library/Application Support/Google/Chrome',
  chromium: 'Library/Application Support/Chromium',
  edge: 'Library/Application Support/Microsoft Edge',
  brave: 'Library/Application Support/BraveSoftware/Brave-Browser',
};
const WINDOWS_KEY: Record<Browser, string> = {
  chrome: 'HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts',
  chromium: 'HKCU\\Software\\Chromium\\NativeMessagingHosts',
  edge: 'HKCU\\Software\\Microsoft\\Edge\\NativeMessagingHosts',
  brave: 'HKCU\\Software\\BraveSoftware\\Brave-Browser\\NativeMessagingHosts',
};

export type Target = { kind: 'folder'; browser: Browser | 'custom'; dir: string } | { kind: 'registry'; browser: Browser; key: string };

export function targetFor(browser: Browser, platform = process.platform, home = os.homedir()): Target {
  if (platform === 'win32') return { kind: 'registry', browser, key: WINDOWS_KEY[browser] };
  const base = platform === 'darwin' ? MAC[browser] : LINUX[browser];
  return { kind: 'folder', browser, dir: path.join(home, base, 'NativeMessagingHosts') };
}

/** A browser started with --user-data-dir reads manifests from that folder instead. */
export function targetForUserDataDir(userDataDir: string): Target {
  return { kind: 'folder', browser: 'custom', dir: path.join(path.resolve(userDataDir), 'NativeMessagingHosts') };
}
