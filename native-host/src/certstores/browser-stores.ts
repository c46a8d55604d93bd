/**
 * What the browser will offer at ANAF's login, from the store it uses on this OS: Windows'
 * CurrentUser\My, the macOS keychain, Chromium's NSS database on Linux. CA certificates (trust
 * anchors the user or an installer added) are left out: a browser never offers them.
 */
import os from 'node:os';
import type { BrowserStoreReport } from '#shared/schemas/browser-certs.js';

export interface BrowserStoresOptions {
  platform?: NodeJS.Platform;
  home?: string;
}

/** Each reader is loaded only on its own OS: koffi, `security` and pkcs11js are not needed elsewhere. */
async function readStores(platform: NodeJS.Platform, home: string): Promise<BrowserStoreReport[]> {
  if (platform === 'win32') return [(await import('./windows.js')).windowsStoreReport()];
  if (platform === 'darwin') return [(await import('./macos.js')).keychainReport()];
  return (await import('./nss.js')).nssReports(home);
}

export async function browserStores(opts: BrowserStoresOptions = {}): Promise<BrowserStoreReport[]> {
  const stores = await readStores(opts.platform ?? process.platform, opts.home ?? os.homedir());
  return stores.map((s) => ({ ...s, certificates: s.certificates.filter((c) => !c.keyUsage.includes('keyCertSign')) }));
}

const perRun = new WeakMap<object, Promise<BrowserStoreReport[]>>();

/**
 * The stores read once per doctor run (both the pkcs11 and the browser-certs checks need them),
 * and only on the OS they belong to: another platform's store cannot be looked at from here.
 */
export function browserStoresOnce(run: object, opts: Required<BrowserStoresOptions>): Promise<BrowserStoreReport[]> {
  if (opts.platform !== process.platform) return Promise.resolve([]);
  let p = perRun.get(run);
  if (!p) {
    p = browserStores(opts);
    perRun.set(run, p);
  }
  return p;
}
