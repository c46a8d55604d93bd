/**
 * Where the vault key lives: the OS keychain when there is one (macOS Keychain, Windows
 * Credential Manager, Secret Service on a Linux desktop), otherwise a 0600 file beside the vault.
 * ANAF_TOKEN_KEYSTORE=file|keychain|auto chooses; auto tries the keychain only where one is
 * expected to answer (a Linux session without D-Bus has none, and probing it can hang).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { newKey } from './crypto.js';

export type KeyStoreKind = 'keychain' | 'file';

const SERVICE = 'anaf-token';
const ACCOUNT = 'vault-key';

export interface KeyStore {
  kind: KeyStoreKind;
  /** Returns the key, or undefined when none was stored yet. */
  read(): Buffer | undefined;
  create(): Buffer;
}

export function fileKeyStore(keyFile: string): KeyStore {
  return {
    kind: 'file',
    read() {
      let text: string;
      try {
        text = fs.readFileSync(keyFile, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
      const key = Buffer.from(text.trim(), 'base64');
      if (key.length !== 32) throw new Error('the vault key file is damaged');
      return key;
    },
    create() {
      const key = newKey();
      // 'wx' fails if another process won the race; the caller re-reads then.
      fs.writeFileSync(keyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
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

export function keychainKeyStore(namespace: string): KeyStore | undefined {
  const mod = loadKeyring();
  if (!mod) return undefined;
  const entry = new mod.Entry(SERVICE, `${ACCOUNT}:${namespace}`);
  return {
    kind: 'keychain',
    read() {
      const v = entry.getPassword();
      if (!v) return undefined;
      const key = Buffer.from(v, 'base64');
      if (key.length !== 32) throw new Error('the vault key in the keychain is damaged');
      return key;
    },
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
export function chooseKeyStore(keyFile: string, namespace: string, env: NodeJS.ProcessEnv = process.env): KeyStore {
  const wanted = env.ANAF_TOKEN_KEYSTORE ?? 'auto';
  if (wanted === 'file') return fileKeyStore(keyFile);
  if (wanted === 'keychain' || keychainExpected(env)) {
    const kc = keychainKeyStore(namespace);
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
  const kc = keychainKeyStore(namespace);
  if (!kc) throw new Error('the vault key is in the OS keychain, which is not available here');
  return kc;
}
