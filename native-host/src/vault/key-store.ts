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
 *
 * Each store keeps a key record (key-record.ts): the key, and the lowest vault schema it may
 * open, which only moves up, written back whole (never a second item that could go astray).
 *
 * The same stores keep the team key (team/team-key.ts) as another item (KeyItem): its own key
 * file, keychain account and DPAPI entropy, so that neither key is ever taken for the other.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { dpapiProtect, dpapiUnprotect } from '../platform/dpapi.js';
import { keychainAddPassword, keychainFindPassword } from '../platform/mac-keychain.js';
import { newKey } from './crypto.js';
import { decodeKeyRecord, encodeKeyRecord, verifiedFloor, type KeyRecord } from './key-record.js';

export type KeyStoreKind = 'keychain' | 'file' | 'dpapi';

const SERVICE = 'anaf-token';

/** Which key an item holds, and the names that keep it apart from the other items. */
export interface KeyItem {
  /** Names the key in errors ("the vault key file is damaged"). */
  label: string;
  /** The keychain account, before `:<namespace>`. */
  account: string;
  /** DPAPI's optional entropy: without the same bytes, another item's file does not unwrap. */
  dpapiEntropy: Buffer;
  dpapiDescription: string;
}

export const VAULT_KEY_ITEM: KeyItem = {
  label: 'vault key',
  account: 'vault-key',
  /** Names the product to DPAPI: without the same entropy, another program of the user cannot unwrap our key. */
  dpapiEntropy: Buffer.from('anaf-token vault key v1', 'utf8'),
  dpapiDescription: 'anaf-token vault key',
};

export interface KeyStore {
  kind: KeyStoreKind;
  /** Returns the key, or undefined when none was stored yet. */
  read(): Buffer | undefined;
  /** The key and the schema floor it claims (no node:crypto). */
  readRecord(): KeyRecord | undefined;
  /** Read again, with the floor's tag checked: what a refusal may rest on. */
  verifiedRecord(): KeyRecord | undefined;
  /** A new key, recorded with this floor (default 1: the form every build can read). */
  create(floor?: number): Buffer;
  /**
   * Records that `key`'s vault reached schema `floor`. Writes only when the store still holds
   * this very key at a lower floor; the key itself is written back unchanged. True when written.
   */
  raiseFloor(key: Buffer, floor: number): boolean;
  /**
   * Keeps a key made elsewhere (the team key a join received), at floor 1. Without `replace`,
   * refuses when the store already holds a key; with it, writes over that key.
   */
  put(key: Buffer, replace: boolean): void;
}

/** How one kind of store reads and writes a record's text. */
interface RecordIo {
  kind: KeyStoreKind;
  /** The record's text, or undefined when none is stored. */
  load(): string | undefined;
  /** `fresh`: there was none (fail if another process wrote one meanwhile); else replace it whole. */
  save(text: string, fresh: boolean): void;
  damaged: string;
  label: string;
}

function storeOver(io: RecordIo): KeyStore {
  const readRecord = () => {
    const text = io.load();
    return text === undefined ? undefined : decodeKeyRecord(text, io.damaged);
  };
  const verifiedRecord = () => {
    const text = io.load();
    return text === undefined ? undefined : verifiedFloor(text, io.damaged);
  };
  return {
    kind: io.kind,
    read: () => readRecord()?.key,
    readRecord,
    verifiedRecord,
    create(floor = 1) {
      const key = newKey();
      io.save(encodeKeyRecord(key, floor), true);
      return key;
    },
    raiseFloor(key, floor) {
      const now = verifiedRecord();
      if (now === undefined || !now.key.equals(key) || now.floor >= floor) return false;
      io.save(encodeKeyRecord(key, floor), false);
      return true;
    },
    put(key, replace) {
      const there = io.load() !== undefined;
      if (there && !replace) throw new Error(`a ${io.label} is already stored`);
      io.save(encodeKeyRecord(key, 1), !there);
    },
  };
}

/** The key file's text, or undefined when there is none. Only trailing white space is dropped (key-record.ts). */
function readKeyFile(keyFile: string): string | undefined {
  try {
    return fs.readFileSync(keyFile, 'utf8').trimEnd();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Written once, 0600 (the data folder itself is checked by ensureSafeDir); 'wx' fails if another process won the race, and the caller re-reads then. */
function writeKeyFile(keyFile: string, text: string): void {
  fs.writeFileSync(keyFile, text + '\n', { mode: 0o600, flag: 'wx' });
}

/**
 * Replaces the key file whole: a new 0600 file, synced, renamed over the old one. A crash leaves
 * the old file or the new one (both hold the same key), at worst a stray temporary file.
 */
function replaceKeyFile(keyFile: string, text: string): void {
  const tmp = `${keyFile}.${process.pid}.${process.hrtime.bigint()}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, text + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, keyFile);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

const saveKeyFile = (keyFile: string) => (text: string, fresh: boolean) => (fresh ? writeKeyFile(keyFile, text) : replaceKeyFile(keyFile, text));

/** A DPAPI-wrapped key file starts with this, so that neither kind takes the other's file for its own. */
const DPAPI_PREFIX = 'dpapi:';

export function fileKeyStore(keyFile: string, item: KeyItem = VAULT_KEY_ITEM): KeyStore {
  return storeOver({
    kind: 'file',
    load() {
      const text = readKeyFile(keyFile);
      if (text?.startsWith(DPAPI_PREFIX)) throw new Error(`the ${item.label} file holds a key wrapped by Windows (DPAPI), not a plain key`);
      return text;
    },
    save: saveKeyFile(keyFile),
    damaged: `the ${item.label} file is damaged`,
    label: item.label,
  });
}

/**
 * Windows: the key record wrapped by DPAPI for the current user, in the key file beside the vault.
 * DPAPI's own integrity check covers the floor too. A floor-1 record is wrapped as the raw 32
 * bytes, as builds before floors wrote it.
 */
export function dpapiKeyStore(keyFile: string, item: KeyItem = VAULT_KEY_ITEM): KeyStore {
  return storeOver({
    kind: 'dpapi',
    load() {
      const text = readKeyFile(keyFile);
      if (text === undefined) return undefined;
      if (!text.startsWith(DPAPI_PREFIX)) throw new Error(`the ${item.label} file does not hold a DPAPI-wrapped key`);
      const plain = dpapiUnprotect(Buffer.from(text.slice(DPAPI_PREFIX.length), 'base64'), item.dpapiEntropy);
      return plain.length === 32 ? plain.toString('base64') : plain.toString('utf8');
    },
    save(text, fresh) {
      const plain = text.startsWith('anaf-token-key:') ? Buffer.from(text, 'utf8') : Buffer.from(text, 'base64');
      const wrapped = dpapiProtect(plain, item.dpapiEntropy, item.dpapiDescription);
      // Unwrapped again before it is kept: a key that cannot be read back must not seal anything.
      if (!dpapiUnprotect(wrapped, item.dpapiEntropy).equals(plain)) throw new Error(`DPAPI did not give the ${item.label} back`);
      saveKeyFile(keyFile)(DPAPI_PREFIX + wrapped.toString('base64'), fresh);
    },
    damaged: `the DPAPI-wrapped ${item.label} is damaged`,
    label: item.label,
  });
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

const keychainDamaged = (item: KeyItem) => `the ${item.label} in the keychain is damaged`;

/** macOS: the login keychain through /usr/bin/security (see platform/mac-keychain.ts); `add -U` replaces the item. */
export function macKeychainKeyStore(namespace: string, item: KeyItem = VAULT_KEY_ITEM): KeyStore {
  const account = `${item.account}:${namespace}`;
  return storeOver({
    kind: 'keychain',
    load: () => keychainFindPassword(SERVICE, account) || undefined,
    save: (text) => keychainAddPassword(SERVICE, account, text),
    damaged: keychainDamaged(item),
    label: item.label,
  });
}

/** The OS keychain: the login keychain on macOS, Secret Service elsewhere (@napi-rs/keyring). */
export function keychainKeyStore(namespace: string, platform: NodeJS.Platform = process.platform, item: KeyItem = VAULT_KEY_ITEM): KeyStore | undefined {
  if (platform === 'darwin') return macKeychainKeyStore(namespace, item);
  const mod = loadKeyring();
  if (!mod) return undefined;
  const entry = new mod.Entry(SERVICE, `${item.account}:${namespace}`);
  return storeOver({
    kind: 'keychain',
    load: () => entry.getPassword() || undefined,
    save: (text) => entry.setPassword(text),
    damaged: keychainDamaged(item),
    label: item.label,
  });
}

export function keychainExpected(env: NodeJS.ProcessEnv = process.env, platform = process.platform): boolean {
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DBUS_SESSION_BUS_ADDRESS);
}

/** The store for a new vault. An existing vault records which kind it used. */
export function chooseKeyStore(
  keyFile: string,
  namespace: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  item: KeyItem = VAULT_KEY_ITEM,
): KeyStore {
  const wanted = env.ANAF_TOKEN_KEYSTORE ?? 'auto';
  if (wanted === 'file') return fileKeyStore(keyFile, item);
  // Windows: DPAPI is always there for a logged-in user; its failure is an error, not a reason to keep the key in clear.
  if (platform === 'win32') return dpapiKeyStore(keyFile, item);
  if (wanted === 'keychain' || keychainExpected(env, platform)) {
    const kc = keychainKeyStore(namespace, platform, item);
    if (kc) {
      try {
        kc.read(); // probe: a keychain that cannot answer is no keychain
        return kc;
      } catch {
        if (wanted === 'keychain') throw new Error('the OS keychain is not available');
      }
    } else if (wanted === 'keychain') throw new Error('the OS keychain is not available');
  }
  return fileKeyStore(keyFile, item);
}

export function keyStoreOfKind(kind: KeyStoreKind, keyFile: string, namespace: string, item: KeyItem = VAULT_KEY_ITEM): KeyStore {
  if (kind === 'file') return fileKeyStore(keyFile, item);
  if (kind === 'dpapi') return dpapiKeyStore(keyFile, item);
  const kc = keychainKeyStore(namespace, process.platform, item);
  if (!kc) throw new Error(`the ${item.label} is in the OS keychain, which is not available here`);
  return kc;
}
