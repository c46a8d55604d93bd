/**
 * Where the vault key lives:
 * - Windows: wrapped with DPAPI (current user) in the key file beside the vault ('dpapi'), through
 *   koffi: no addon of ours, nothing that needs the Visual C++ runtime a clean Windows lacks;
 * - macOS: the login keychain, through Apple's `security` tool ('keychain');
 * - Linux: Secret Service on a desktop session ('keychain', @napi-rs/keyring), otherwise the key
 *   itself in a 0600 file ('file').
 * ANAF_TOKEN_KEYSTORE=file|keychain|auto chooses; `keychain` means the OS's own protection
 * (DPAPI on Windows). auto tries Secret Service only where one is expected to answer (a Linux
 * session without D-Bus has none, and probing it can hang). A vault records the kind it used.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { dpapiProtect, dpapiUnprotect } from '../platform/dpapi.js';
import { keychainAddPassword, keychainFindPassword } from '../platform/mac-keychain.js';
import { newKey } from './crypto.js';

export type KeyStoreKind = 'keychain' | 'file' | 'dpapi';

const SERVICE = 'anaf-token';
const ACCOUNT = 'vault-key';

export interface KeyStore {
  kind: KeyStoreKind;
  /** Returns the key, or undefined when none was stored yet. */
  read(): Buffer | undefined;
  create(): Buffer;
}

/** The key file's text, or undefined when there is none. */
function readKeyFile(keyFile: string): string | undefined {
  try {
    return fs.readFileSync(keyFile, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Written once, 0600 (the data folder itself is checked by ensureSafeDir); 'wx' fails if another process won the race, and the caller re-reads then. */
function writeKeyFile(keyFile: string, text: string): void {
  fs.writeFileSync(keyFile, text + '\n', { mode: 0o600, flag: 'wx' });
}

/** A DPAPI-wrapped key file starts with this, so that neither kind takes the other's file for its own. */
const DPAPI_PREFIX = 'dpapi:';

export function fileKeyStore(keyFile: string): KeyStore {
  return {
    kind: 'file',
    read() {
      const text = readKeyFile(keyFile);
      if (text === undefined) return undefined;
      if (text.startsWith(DPAPI_PREFIX)) throw new Error('the vault key file holds a key wrapped by Windows (DPAPI), not a plain key');
      const key = Buffer.from(text, 'base64');
      if (key.length !== 32) throw new Error('the vault key file is damaged');
      return key;
    },
    create() {
      const key = newKey();
      writeKeyFile(keyFile, key.toString('base64'));
      return key;
    },
  };
}

/** Names the product to DPAPI: without the same entropy, another program of the user cannot unwrap our key. */
const DPAPI_ENTROPY = Buffer.from('anaf-token vault key v1', 'utf8');
const DPAPI_DESCRIPTION = 'anaf-token vault key';

/** Windows: the key wrapped by DPAPI for the current user, in the key file beside the vault. */
export function dpapiKeyStore(keyFile: string): KeyStore {
  return {
    kind: 'dpapi',
    read() {
      const text = readKeyFile(keyFile);
      if (text === undefined) return undefined;
      if (!text.startsWith(DPAPI_PREFIX)) throw new Error('the vault key file does not hold a DPAPI-wrapped key');
      const key = dpapiUnprotect(Buffer.from(text.slice(DPAPI_PREFIX.length), 'base64'), DPAPI_ENTROPY);
      if (key.length !== 32) throw new Error('the DPAPI-wrapped vault key is damaged');
      return key;
    },
    create() {
      const key = newKey();
      const wrapped = dpapiProtect(key, DPAPI_ENTROPY, DPAPI_DESCRIPTION);
      // Unwrapped again before it is kept: a key that cannot be read back must not seal anything.
      if (!dpapiUnprotect(wrapped, DPAPI_ENTROPY).equals(key)) throw new Error('DPAPI did not give the vault key back');
      writeKeyFile(keyFile, DPAPI_PREFIX + wrapped.toString('base64'));
      return key;
    },
  };
}

interface KeyringEntry {
  getPassword(): string | null | undefined;
  setPassword(p: string): void;
}
type KeyringModule = { Entry: new (service: string, account: string) => KeyringEntry };

function loadKeyring(): KeyringModule | undefined {
  try {
    // Lazy: the native binding is only loaded where a keychain is used.
    return createRequire(import.meta.url)('@napi-rs/keyring') as KeyringModule;
  } catch {
    return undefined;
  }
}

function decodeKeychainValue(v: string | null | undefined): Buffer | undefined {
  if (!v) return undefined;
  const key = Buffer.from(v, 'base64');
  if (key.length !== 32) throw new Error('the vault key in the keychain is damaged');
  return key;
}

/** macOS: the login keychain through /usr/bin/security (see platform/mac-keychain.ts). */
export function macKeychainKeyStore(namespace: string): KeyStore {
  const account = `${ACCOUNT}:${namespace}`;
  return {
    kind: 'keychain',
    read: () => decodeKeychainValue(keychainFindPassword(SERVICE, account)),
    create() {
      const key = newKey();
      keychainAddPassword(SERVICE, account, key.toString('base64'));
      return key;
    },
  };
}

/** The OS keychain: the login keychain on macOS, Secret Service elsewhere (@napi-rs/keyring). */
export function keychainKeyStore(namespace: string, platform: NodeJS.Platform = process.platform): KeyStore | undefined {
  if (platform === 'darwin') return macKeychainKeyStore(namespace);
  const mod = loadKeyring();
  if (!mod) return undefined;
  const entry = new mod.Entry(SERVICE, `${ACCOUNT}:${namespace}`);
  return {
    kind: 'keychain',
    read: () => decodeKeychainValue(entry.getPassword()),
    create() {
      const key = newKey();
      entry.setPassword(key.toString('base64'));
      return key;
    },
  };
}

export function keychainExpected(env: NodeJS.ProcessEnv = process.env, platform = process.platform): boolean {
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DBUS_SESSION_BUS_ADDRESS);
}

/** The store for a new vault. An existing vault records which kind it used. */
export function chooseKeyStore(keyFile: string, namespace: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): KeyStore {
  const wanted = env.ANAF_TOKEN_KEYSTORE ?? 'auto';
  if (wanted === 'file') return fileKeyStore(keyFile);
  // Windows: DPAPI is always there for a logged-in user; its failure is an error, not a reason to keep the key in clear.
  if (platform === 'win32') return dpapiKeyStore(keyFile);
  if (wanted === 'keychain' || keychainExpected(env, platform)) {
    const kc = keychainKeyStore(namespace, platform);
    if (kc) {
      try {
        kc.read(); // probe: a keychain that cannot answer is no keychain
        return kc;
      } catch {
        if (wanted === 'keychain') throw new Error('the OS keychain is not available');
      }
    } else if (wanted === 'keychain') throw new Error('the OS keychain is not available');
  }
  return fileKeyStore(keyFile);
}

export function keyStoreOfKind(kind: KeyStoreKind, keyFile: string, namespace: string): KeyStore {
  if (kind === 'file') return fileKeyStore(keyFile);
  if (kind === 'dpapi') return dpapiKeyStore(keyFile);
  const kc = keychainKeyStore(namespace);
  if (!kc) throw new Error('the vault key is in the OS keychain, which is not available here');
  return kc;
}
