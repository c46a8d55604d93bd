/**
 * The team key: 32 random bytes that seal every secret in the team store (issue 13). Each
 * machine keeps its copy in its own key store, the same kinds as the vault key (key-store.ts:
 * the OS keychain, DPAPI on Windows, else a 0600 file), as a separate item: the file `team.key`
 * beside `vault.key`, the keychain account `team-key:<namespace>`, its own DPAPI entropy.
 *
 * `team.json` (not secret, 0600) says which kind of store holds it and the keychain namespace,
 * as the vault's meta table does for the vault key. It is written before the key, so a crash
 * between the two leaves a pointer to an empty store (status: key missing; the next init or join
 * fills it), never a key nobody can find.
 *
 * The team id is derived from the key (HMAC-SHA256(key, "anaf-token team id v1"), 16 bytes,
 * hex): the key alone says which team it opens, so a machine never holds a key under another
 * team's id, and there is no second value to keep in step with the key. An HMAC output tells
 * nothing about the key. The same goes for the fingerprint, a shorter value under another label,
 * shown so people can compare their machines by eye.
 *
 * One team per machine (per OS user and data folder): taking another team's key is refused
 * unless the caller forces it (TEAM_KEY_EXISTS).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { ensurePrivateDir, type Paths } from '../config/paths.js';
import { writeFileAtomic } from '../config/safe-paths.js';
import { open, seal } from '../vault/crypto.js';
import { chooseKeyStore, keyStoreOfKind, type KeyItem, type KeyStore, type KeyStoreKind } from '../vault/key-store.js';
import { nodeCrypto } from '../vault/node-crypto.js';
import { groupsOfFour, toCrockford } from './crockford.js';

export const TEAM_KEY_ITEM: KeyItem = {
  label: 'team key',
  account: 'team-key',
  dpapiEntropy: Buffer.from('anaf-token team key v1', 'utf8'),
  dpapiDescription: 'anaf-token team key',
};

/** The associated data of the store's key-check value: fixed, it is the one value of its kind. */
export const TEAM_KEY_CHECK_AAD = 'team:key_check:v1';
const keyCheckPlaintext = (teamId: string) => `anaf-token team key check ${teamId}`;

export const TEAM_ID_RE = /^[0-9a-f]{32}$/;

/** Where this machine's team key is looked for: the data folder, and the environment and platform that choose a store. */
export interface TeamKeyPlace {
  paths: Pick<Paths, 'dataDir'>;
  /** ANAF_TOKEN_KEYSTORE=file|keychain|auto and DBUS_SESSION_BUS_ADDRESS choose a new key's store (key-store.ts). */
  env?: NodeJS.ProcessEnv | undefined;
  platform?: NodeJS.Platform | undefined;
}

/** What the team store records when the team is made, and every member checks its key against. */
export interface TeamRegistration {
  teamId: string;
  /** seal(key, "anaf-token team key check <teamId>", TEAM_KEY_CHECK_AAD). */
  keyCheck: Buffer;
}

export interface HeldTeamKey {
  key: Buffer;
  teamId: string;
  fingerprint: string;
  keyStore: KeyStoreKind;
}

export type TeamKeyState =
  | { state: 'none' }
  /** team.json names a store that holds no team key (an interrupted init or join, or a keychain item removed). */
  | { state: 'missing'; keyStore: KeyStoreKind; detail: string }
  | ({ state: 'held' } & HeldTeamKey);

const hmac = (key: Buffer, label: string) => nodeCrypto().createHmac('sha256', key).update(label).digest();

export function teamIdOf(key: Buffer): string {
  return hmac(key, 'anaf-token team id v1').subarray(0, 16).toString('hex');
}

/** 16 Crockford characters (80 bits) in groups of four: enough to tell two keys apart by eye, never the key. */
export function fingerprintOf(key: Buffer): string {
  return groupsOfFour(toCrockford(hmac(key, 'anaf-token team key fingerprint v1'), 16));
}

export function newTeamKey(): Buffer {
  return nodeCrypto().randomBytes(32);
}

export function registrationFor(key: Buffer): TeamRegistration {
  const teamId = teamIdOf(key);
  return { teamId, keyCheck: seal(key, keyCheckPlaintext(teamId), TEAM_KEY_CHECK_AAD) };
}

/** TEAM_KEY_WRONG unless `key` is the key of the team `reg` describes and opens its check value. */
export function checkTeamKey(key: Buffer, reg: TeamRegistration): void {
  const teamId = teamIdOf(key);
  if (teamId !== reg.teamId) throw new AppError('TEAM_KEY_WRONG', `this computer holds the key of team ${teamId}; the store belongs to team ${reg.teamId}`);
  let plain: string;
  try {
    plain = open(key, reg.keyCheck, TEAM_KEY_CHECK_AAD);
  } catch {
    throw new AppError('TEAM_KEY_WRONG', "the store's key check value does not open with this key");
  }
  if (plain !== keyCheckPlaintext(teamId)) throw new AppError('TEAM_KEY_WRONG', "the store's key check value names another team");
}

// ---- team.json: which store holds the key

const TEAM_FILE = 'team.json';
const KEY_FILE = 'team.key';

export const teamFiles = (dataDir: string) => ({ index: path.join(dataDir, TEAM_FILE), keyFile: path.join(dataDir, KEY_FILE) });

const indexSchema = z.strictObject({
  v: z.literal(1),
  keyStore: z.enum(['keychain', 'file', 'dpapi']),
  namespace: z.string().check(z.regex(/^[0-9a-f]{16}$/)),
});
type TeamIndex = z.infer<typeof indexSchema>;

function readIndex(file: string): TeamIndex | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('TEAM_KEY_STORE_FAILED', `${file}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = indexSchema.safeParse(raw);
  if (!parsed.success) throw new AppError('TEAM_KEY_STORE_FAILED', `${file} is damaged`);
  return parsed.data;
}

function readIndexText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Key store failures are plain errors (key-store.ts); they name the store, never the key. */
function storeFailure(e: unknown, doing: string): AppError {
  if (e instanceof AppError) return e;
  return new AppError('TEAM_KEY_STORE_FAILED', `${doing}: ${(e as Error).message}`, { cause: e });
}

function storeOf(place: TeamKeyPlace, index: TeamIndex): KeyStore {
  return keyStoreOfKind(index.keyStore, teamFiles(place.paths.dataDir).keyFile, index.namespace, TEAM_KEY_ITEM);
}

function held(key: Buffer, kind: KeyStoreKind): HeldTeamKey {
  return { key, teamId: teamIdOf(key), fingerprint: fingerprintOf(key), keyStore: kind };
}

/** What this machine holds, without throwing for "nothing"; TEAM_KEY_STORE_FAILED when a store cannot be read. */
export function readTeamKey(place: TeamKeyPlace): TeamKeyState {
  const index = readIndex(teamFiles(place.paths.dataDir).index);
  if (!index) return { state: 'none' };
  let key: Buffer | undefined;
  try {
    key = storeOf(place, index).verifiedRecord()?.key;
  } catch (e) {
    throw storeFailure(e, `reading the team key from the ${index.keyStore}`);
  }
  if (!key) return { state: 'missing', keyStore: index.keyStore, detail: `team.json names the ${index.keyStore}, which holds no team key` };
  return { state: 'held', ...held(key, index.keyStore) };
}

/** This machine's team key; TEAM_KEY_MISSING when it has none. */
export function loadTeamKey(place: TeamKeyPlace): HeldTeamKey {
  const s = readTeamKey(place);
  if (s.state === 'none') throw new AppError('TEAM_KEY_MISSING');
  if (s.state === 'missing') throw new AppError('TEAM_KEY_MISSING', s.detail);
  const { state: _, ...h } = s;
  return h;
}

export interface KeptTeamKey {
  held: HeldTeamKey;
  /** The team whose key this machine held before and no longer does (only when replacing was allowed). */
  replaced: string | undefined;
}

/**
 * Keeps `key` as this machine's team key. Another team's key already here: TEAM_KEY_EXISTS
 * unless `replace`. The same key already here: nothing is written.
 */
export function keepTeamKey(place: TeamKeyPlace, key: Buffer, opts: { replace: boolean }): KeptTeamKey {
  if (key.length !== 32) throw new Error('a team key has 32 bytes');
  const dataDir = place.paths.dataDir;
  ensurePrivateDir(dataDir);
  const files = teamFiles(dataDir);
  const now = readTeamKey(place);
  if (now.state === 'held') {
    if (now.key.equals(key)) return { held: held(key, now.keyStore), replaced: undefined };
    if (!opts.replace) throw new AppError('TEAM_KEY_EXISTS', `team ${now.teamId}`);
  }
  let index = readIndex(files.index);
  let wroteIndex: string | undefined;
  let store: KeyStore;
  try {
    if (index) store = storeOf(place, index);
    else {
      const namespace = nodeCrypto().randomBytes(8).toString('hex');
      store = chooseKeyStore(files.keyFile, namespace, place.env ?? process.env, place.platform ?? process.platform, TEAM_KEY_ITEM);
      // A team.key without team.json (deleted by hand): it belongs to no recorded team, but it may be the only copy.
      const stray = store.verifiedRecord()?.key;
      if (stray && !stray.equals(key) && !opts.replace) throw new AppError('TEAM_KEY_EXISTS', `${KEY_FILE} without ${TEAM_FILE}, of team ${teamIdOf(stray)}`);
      index = { v: 1, keyStore: store.kind, namespace };
      wroteIndex = JSON.stringify(index) + '\n';
      writeFileAtomic(files.index, wroteIndex, 0o600);
    }
    store.put(key, true);
  } catch (e) {
    // Our own team.json only: a process that won a race meanwhile keeps its own.
    if (wroteIndex !== undefined && readIndexText(files.index) === wroteIndex) fs.rmSync(files.index, { force: true });
    throw storeFailure(e, `keeping the team key in the ${index?.keyStore ?? 'key store'}`);
  }
  return { held: held(key, store.kind), replaced: now.state === 'held' ? now.teamId : undefined };
}
