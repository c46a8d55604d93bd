/**
 * The requester's side of request links: one small SQLite file, requests.sqlite, in the data
 * folder (0600, like the vault), kept apart from the vault so that neither engine of the Store
 * (local vault, team store) needs to know about it. Only a hash of the state is kept.
 *
 * A request's private key (the one that opens its answer) is sealed with this machine's request
 * key, a third item in the OS key store (DPAPI on Windows, the keychain, else a 0600 file, as the
 * vault key: key-store.ts), so that a copy of requests.sqlite (a backup, a roaming profile)
 * opens no answer. It is kept only while the request is open: erased when the answer is imported,
 * the request is cancelled, or it expires (checked on every open), and with secure_delete the
 * erased bytes are overwritten in the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '#shared/errors.js';
import type { Environment } from '#shared/schemas/profile.js';
import { IMPORT_GRACE_MS } from '#shared/request/format.js';
import type { Paths } from '../config/paths.js';
import { newKey, open as openSealed, seal } from '../vault/crypto.js';
import { chooseKeyStore, keyStoreOfKind, type KeyItem, type KeyStore, type KeyStoreKind } from '../vault/key-store.js';
import { nodeCrypto } from '../vault/node-crypto.js';
import { openDatabase, type DatabaseSync } from '../vault/sqlite.js';

export const REQUEST_KEY_ITEM: KeyItem = {
  label: 'request key',
  account: 'request-key',
  dpapiEntropy: Buffer.from('anaf-token request key v1', 'utf8'),
  dpapiDescription: 'anaf-token request key',
};

export type RequestStatus = 'pending' | 'used' | 'cancelled' | 'expired';

export interface PendingRequest {
  id: string;
  profile: string;
  env: Environment;
  clientId: string;
  redirectUri: string;
  stateHash: string;
  publicKey: string;
  /** Whether its private key is still kept (only while the request is open); privateKey() opens it. */
  hasKey: boolean;
  note: string | undefined;
  passphrase: boolean;
  createdAt: number;
  expiresAt: number;
  status: RequestStatus;
  endedAt: number | undefined;
  /** The certificate serial ANAF's token named, once imported. */
  certificateSerial: string | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  profile TEXT NOT NULL,
  env TEXT NOT NULL,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  state_hash TEXT NOT NULL,
  public_key TEXT NOT NULL,
  private_key BLOB,
  note TEXT,
  passphrase INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  ended_at INTEGER,
  cert_serial TEXT
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);`;

interface Row {
  id: string;
  profile: string;
  env: string;
  client_id: string;
  redirect_uri: string;
  state_hash: string;
  public_key: string;
  has_key: number;
  note: string | null;
  passphrase: number;
  created_at: number;
  expires_at: number;
  status: string;
  ended_at: number | null;
  cert_serial: string | null;
}

/** Every column but the sealed key, which only privateKey() reads. */
const COLUMNS =
  'id, profile, env, client_id, redirect_uri, state_hash, public_key, private_key IS NOT NULL AS has_key, note, passphrase, created_at, expires_at, status, ended_at, cert_serial';

const STATUSES: readonly RequestStatus[] = ['pending', 'used', 'cancelled', 'expired'];

function fromRow(r: Row): PendingRequest {
  return {
    id: r.id,
    profile: r.profile,
    env: r.env,
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    stateHash: r.state_hash,
    publicKey: r.public_key,
    hasKey: r.has_key === 1,
    note: r.note ?? undefined,
    passphrase: r.passphrase === 1,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status: STATUSES.includes(r.status as RequestStatus) ? (r.status as RequestStatus) : 'expired',
    endedAt: r.ended_at ?? undefined,
    certificateSerial: r.cert_serial ?? undefined,
  };
}

/** Where a machine's requests live, and its clock. */
export interface RequestsPlace {
  paths: Paths;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

export class PendingRequests {
  /** The request key, read from its store when first needed (listing needs none). */
  private key: Buffer | undefined;

  private constructor(
    private readonly db: DatabaseSync,
    private readonly place: RequestsPlace,
    private readonly now: () => number,
  ) {}

  /** The machine's requests, in its data folder (`place` is the App, or a test's paths and clock). */
  static open(place: RequestsPlace): PendingRequests {
    const now = place.now ?? Date.now;
    const file = path.join(place.paths.dataDir, 'requests.sqlite');
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    if (process.platform !== 'win32') fs.chmodSync(file, 0o600);
    const db = openDatabase(file);
    db.exec('PRAGMA busy_timeout = 5000; PRAGMA secure_delete = ON;');
    db.exec(SCHEMA);
    const store = new PendingRequests(db, place, now);
    store.sealOldKeys();
    store.expireOld();
    return store;
  }

  close(): void {
    this.db.close();
  }

  private meta(k: string): string | undefined {
    return (this.db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as { v: string } | undefined)?.v;
  }

  /**
   * The request key. Reading: from the store meta names. Creating (a new request): the same; or,
   * when that store holds no key or cannot open it for good (a folder copied from another user or
   * computer: DPAPI or a file that does not unwrap), a new key in a new namespace, whose meta
   * replaces the old (the old requests stay unopenable: REQUEST_KEY_UNREADABLE at their import);
   * or a new store when none is named yet. A keychain that fails may only be locked: that is an
   * error, not a reason to replace its key. Inside one write transaction, so two processes make
   * one key.
   */
  private requestKey(create: boolean): Buffer {
    if (this.key) return this.key;
    const keyFile = path.join(this.place.paths.dataDir, 'requests.key');
    const named = (): KeyStore | undefined => {
      const kind = this.meta('key_store') as KeyStoreKind | undefined;
      return kind && keyStoreOfKind(kind, keyFile, this.meta('key_namespace') ?? '', REQUEST_KEY_ITEM);
    };
    try {
      if (!create) {
        const store = named();
        if (!store) throw new Error('no request was made on this computer');
        const key = store.verifiedRecord()?.key;
        if (!key) throw new Error(`the ${store.kind} holds no request key`);
        return (this.key = key);
      }
      this.db.exec('BEGIN IMMEDIATE');
      try {
        let key: Buffer | undefined;
        try {
          key = named()?.verifiedRecord()?.key;
        } catch (e) {
          if (this.meta('key_store') === 'keychain') throw e;
        }
        if (!key) {
          // What is at requests.key (none, or a key nothing here can open) is of no use: a copied
          // DPAPI file would not even let itself be overwritten through its store.
          fs.rmSync(keyFile, { force: true });
          const namespace = nodeCrypto().randomBytes(8).toString('hex');
          const store = chooseKeyStore(keyFile, namespace, this.place.env ?? process.env, this.place.platform ?? process.platform, REQUEST_KEY_ITEM);
          key = newKey();
          store.put(key, false);
          this.db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?), (?, ?)').run('key_store', store.kind, 'key_namespace', namespace);
        }
        this.db.exec('COMMIT');
        return (this.key = key);
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      }
    } catch (e) {
      throw new AppError('REQUEST_KEY_UNREADABLE', (e as Error).message, { cause: e });
    }
  }

  private static aad = (id: string) => `requests:private_key:${id}`;

  private sealKey(id: string, jwk: JsonWebKey): Uint8Array {
    return seal(this.requestKey(true), JSON.stringify(jwk), PendingRequests.aad(id));
  }

  /**
   * A build before the request key kept private keys as JSON text: seal them, and drop the column.
   * Two processes may open such a file at once: the one that takes the write lock second finds it
   * done.
   */
  private sealOldKeys(): void {
    const hasColumn = (name: string) =>
      (this.db.prepare("SELECT name FROM pragma_table_info('requests')").all() as { name: string }[]).some((c) => c.name === name);
    if (!hasColumn('private_jwk')) return;
    this.requestKey(true); // its own transaction, before this one
    this.db.exec('BEGIN IMMEDIATE');
    try {
      if (hasColumn('private_jwk')) {
        if (!hasColumn('private_key')) this.db.exec('ALTER TABLE requests ADD COLUMN private_key BLOB');
        const old = this.db.prepare('SELECT id, private_jwk FROM requests WHERE private_jwk IS NOT NULL').all() as { id: string; private_jwk: string }[];
        for (const r of old) {
          this.db.prepare('UPDATE requests SET private_key = ? WHERE id = ?').run(this.sealKey(r.id, JSON.parse(r.private_jwk) as JsonWebKey), r.id);
        }
        this.db.exec('ALTER TABLE requests DROP COLUMN private_jwk');
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  /** Requests past their expiry and grace lose their private key: no answer can open any more. */
  expireOld(): void {
    const t = this.now();
    this.db
      .prepare("UPDATE requests SET status = 'expired', private_key = NULL, ended_at = ? WHERE status = 'pending' AND expires_at + ? < ?")
      .run(t, IMPORT_GRACE_MS, t);
  }

  add(r: Omit<PendingRequest, 'status' | 'endedAt' | 'certificateSerial' | 'hasKey'> & { privateJwk: JsonWebKey }): void {
    this.db
      .prepare(
        `INSERT INTO requests (id, profile, env, client_id, redirect_uri, state_hash, public_key, private_key, note, passphrase, created_at, expires_at, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
      )
      .run(
        r.id,
        r.profile,
        r.env,
        r.clientId,
        r.redirectUri,
        r.stateHash,
        r.publicKey,
        this.sealKey(r.id, r.privateJwk),
        r.note ?? null,
        r.passphrase ? 1 : 0,
        r.createdAt,
        r.expiresAt,
      );
  }

  get(id: string): PendingRequest | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM requests WHERE id = ?`).get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  list(): PendingRequest[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM requests ORDER BY created_at DESC`).all() as unknown as Row[]).map(fromRow);
  }

  /** The request's private key, opened with the request key; REQUEST_EXPIRED once it is erased. */
  privateKey(id: string): JsonWebKey {
    const row = this.db.prepare('SELECT private_key FROM requests WHERE id = ?').get(id) as { private_key: Uint8Array | null } | undefined;
    if (!row?.private_key) throw new AppError('REQUEST_EXPIRED', 'its key is no longer kept');
    let text: string;
    try {
      text = openSealed(this.requestKey(false), Buffer.from(row.private_key), PendingRequests.aad(id));
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('REQUEST_KEY_UNREADABLE', "the request's private key does not open with this computer's request key", { cause: e });
    }
    return JSON.parse(text) as JsonWebKey;
  }

  /**
   * Takes an open request for its import: true for exactly one caller. The private key stays
   * until finish() (a failed save gives the request back with release()).
   */
  claim(id: string): boolean {
    const r = this.db.prepare("UPDATE requests SET status = 'used', ended_at = ? WHERE id = ? AND status = 'pending'").run(this.now(), id);
    return Number(r.changes) === 1;
  }

  release(id: string): void {
    this.db.prepare("UPDATE requests SET status = 'pending', ended_at = NULL WHERE id = ? AND status = 'used'").run(id);
  }

  finish(id: string, certificateSerial: string | undefined): void {
    this.db.prepare('UPDATE requests SET private_key = NULL, cert_serial = ? WHERE id = ?').run(certificateSerial ?? null, id);
  }

  cancel(id: string): boolean {
    const r = this.db
      .prepare("UPDATE requests SET status = 'cancelled', private_key = NULL, ended_at = ? WHERE id = ? AND status = 'pending'")
      .run(this.now(), id);
    return Number(r.changes) === 1;
  }
}
