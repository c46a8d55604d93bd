/**
 * The encrypted token vault: one SQLite file in WAL mode, safe with several host processes at
 * once (Chrome starts one per connection; the CLI and the ERP service run beside them).
 * Secrets and tokens are sealed per value; everything a status table needs stays readable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import type { ClientAuthMethod } from '../oauth/anaf-client.js';
import { ensurePrivateDir, type Paths } from '../config/paths.js';
import type {
  ApiClientKey,
  ApiClientOptions,
  ApiClientRecord,
  AuditEntry,
  AuditQuery,
  CertificateRecord,
  OpenedTokens,
  ProfileWrite,
  SavedProfile,
  TokenOrigin,
  TokenRecord,
  TokenSet,
} from '../store/records.js';
import type { Store } from '../store/store.js';
import {
  KEY_CHECK_AAD,
  KEY_CHECK_PLAINTEXT,
  LEGACY_KEY_CHECK_AAD,
  legacyAad,
  openBound,
  opensBound,
  profileAad,
  type ProfileIdentity,
  type SealedField,
} from './aad.js';
import * as audit from './audit.js';
import * as authorizations from './authorizations.js';
import * as clients from './clients.js';
import type { VaultCore } from './core.js';
import { open, seal } from './crypto.js';
import { chooseKeyStore, keyStoreOfKind, type KeyStore, type KeyStoreKind } from './key-store.js';
import { nodeCrypto } from './node-crypto.js';
import * as profiles from './profiles.js';
import { PROFILE_COLUMNS, rowToProfile, type ProfileRow } from '../store/rows.js';
import { ADDED_COLUMNS, SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';
import { asBuffer, firstValue, immediate, openDatabase, type DatabaseSync, type StatementSync } from './sqlite.js';
import * as tokens from './tokens.js';

/**
 * Another process's commit is seen at most this late (ms) by a connection that only reads (the
 * ERP service between two requests): asking costs a read transaction, too much for every request.
 * This connection's own writes (a lease taken, a token stored) drop its cached reads at once, so
 * no refresh decision rests on a stale read.
 */
const VERSION_CHECK_MS = 10;

/**
 * A monotonic clock in ms. Not performance.now(): on Node 22 the `performance` global loads
 * perf_hooks (nine internal modules, about 1 ms) into every process that opens the vault.
 */
const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface VaultOptions {
  paths: Paths;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
}

export class Vault implements Store {
  readonly engine = 'sqlite' as const;
  readonly keyStore: KeyStoreKind;
  private readonly db: DatabaseSync;
  private readonly key: Buffer;
  /** Where the key lives, and the schema floor recorded with it (key-record.ts) as read at open. */
  private readonly store: KeyStore;
  private keyFloor: number;
  /** The sealed check value the key must open before it seals or opens anything; undefined once it has. */
  private keyCheck: Buffer | undefined;
  private readonly now: () => number;
  private readonly statements = new Map<string, { st: StatementSync; writes: boolean }>();
  /** Reads cached until any connection commits (PRAGMA data_version) or this one writes. */
  private readonly reads = new Map<string, unknown>();
  private readsVersion = -1;
  private readsCheckedAt = -Infinity;
  /** Counts the times the cached reads were dropped: equal numbers, same vault contents. */
  private readsEpoch = 0;

  /** What the table modules work with (core.ts). */
  private readonly core: VaultCore = {
    now: () => this.now(),
    sql: (text) => this.sql(text),
    cached: (key, load) => this.cached(key, load),
    transaction: (fn) => immediate(this.db, fn),
    checkKey: () => this.checkKey(),
    sealingKey: () => this.sealingKey(),
    openSealed: (sealed, field, id) => this.openSealed(sealed, field, id),
    opensSealed: (sealed, field, id) => this.opensSealed(sealed, field, id),
  };

  private constructor(db: DatabaseSync, key: Buffer, keyCheck: Buffer | undefined, store: KeyStore, keyFloor: number, now: () => number) {
    this.db = db;
    this.key = key;
    this.keyCheck = keyCheck;
    this.store = store;
    this.keyStore = store.kind;
    this.keyFloor = keyFloor;
    this.now = now;
  }

  static open(opts: VaultOptions): Vault {
    const { paths } = opts;
    const now = opts.now ?? Date.now;
    let db: DatabaseSync;
    try {
      ensurePrivateDir(paths.dataDir);
      // Create the file 0600 ourselves; SQLite gives its -wal and -shm files the same mode.
      fs.closeSync(fs.openSync(paths.vaultFile, 'a', 0o600));
      if (process.platform !== 'win32') fs.chmodSync(paths.vaultFile, 0o600);
      db = openDatabase(paths.vaultFile);
      db.exec('PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON');
    } catch (e) {
      throw new AppError('VAULT_ERROR', `${path.basename(paths.vaultFile)}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const meta = (k: string) => (db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as { v: string } | undefined)?.v;
      const setMeta = (k: string, v: string) => db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)').run(k, v);
      // Every start of every host process opens the vault: when it is already set up, only read.
      // The write path (a committed transaction) runs for a new vault or a changed schema only.
      const hasMeta = () => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
      /** The stored schema version; refuses a vault written by a newer build. */
      const storedVersion = () => {
        const version = hasMeta() ? meta('schema_version') : undefined;
        if (version !== undefined && Number(version) > SCHEMA_VERSION) {
          throw new AppError('VAULT_ERROR', `the vault was written by a newer version (schema ${version})`);
        }
        return version;
      };
      // The key is proven against key_check at its first use (sealingKey), not here: a status
      // read touches no sealed value, and the proof would load node:crypto into every process.
      type Ready = { key: Buffer; keyCheck: Buffer | undefined; store: KeyStore; floor: number };
      const ready = (): Ready | undefined => {
        if (!hasMeta()) return undefined;
        const version = storedVersion();
        const kind = meta('key_store') as KeyStoreKind | undefined;
        // The schema text itself, not a hash of it: comparing needs no crypto and is exact.
        if (kind === undefined || meta('schema_sql') !== SCHEMA_SQL || version !== String(SCHEMA_VERSION)) return undefined;
        const store = keyStoreOfKind(kind, paths.keyFile, meta('key_namespace') ?? '');
        const record = store.readRecord();
        if (!record) throw new AppError('VAULT_LOCKED', `no key in the ${kind}`);
        return { key: record.key, keyCheck: Buffer.from(meta('key_check') ?? '', 'base64'), store, floor: record.floor };
      };
      const init = () => {
        storedVersion();
        db.exec(SCHEMA_SQL); // additive and idempotent: CREATE ... IF NOT EXISTS
        for (const c of ADDED_COLUMNS) {
          const has = (db.prepare(`PRAGMA table_info(${c.table})`).all() as { name: string }[]).some((x) => x.name === c.column);
          if (!has) db.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.decl}`);
        }
        setMeta('schema_version', String(SCHEMA_VERSION));
        setMeta('schema_sql', SCHEMA_SQL);
        const existing = ready();
        if (existing) return existing;
        const namespace = nodeCrypto().randomBytes(8).toString('hex');
        const store = chooseKeyStore(paths.keyFile, namespace, opts.env);
        // A key left from an earlier vault keeps its floor (raised at its first use); a new one starts at this schema.
        const record = store.readRecord() ?? { key: store.create(SCHEMA_VERSION), floor: SCHEMA_VERSION };
        setMeta('key_store', store.kind);
        setMeta('key_namespace', namespace);
        setMeta('key_check', seal(record.key, KEY_CHECK_PLAINTEXT, KEY_CHECK_AAD).toString('base64'));
        return { key: record.key, keyCheck: undefined, store, floor: record.floor }; // it has just sealed the check value
      };
      const r: Ready = ready() ?? immediate(db, init);
      const vault = new Vault(db, r.key, r.keyCheck, r.store, r.floor, now);
      // A new vault's check value is sealed under this schema: its key's floor may rise at once (a key kept from an old vault).
      if (r.keyCheck === undefined) vault.recordKeyFloor();
      return vault;
    } catch (e) {
      db.close();
      if (e instanceof AppError) throw e;
      throw new AppError('VAULT_ERROR', (e as Error).message, { cause: e });
    }
  }

  close(): void {
    this.statements.clear();
    this.dropReads();
    this.db.close();
  }

  /** Prepared once per connection: the serve hot path runs the same few queries per request. */
  private sql(text: string): StatementSync {
    let entry = this.statements.get(text);
    if (!entry) {
      entry = { st: this.db.prepare(text), writes: /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(text) };
      this.statements.set(text, entry);
    }
    // A statement that writes is about to run: what this connection has cached may change.
    if (entry.writes) this.dropReads();
    return entry.st;
  }

  private dropReads(): void {
    this.reads.clear();
    this.readsEpoch++;
  }

  /**
   * A number that changes whenever what this connection reads may have changed: another
   * process committed, or this one wrote. Callers keep what they derived from reads until it does.
   */
  readEpoch(): number {
    const t = monotonicMs();
    if (t - this.readsCheckedAt > VERSION_CHECK_MS) {
      const version = firstValue(this.sql('PRAGMA data_version')) as number;
      this.readsCheckedAt = t;
      if (version !== this.readsVersion) {
        this.dropReads();
        this.readsVersion = version;
      }
    }
    return this.readsEpoch;
  }

  /**
   * A read that the token service repeats for every request, cached until the data changes: another
   * process's commit changes PRAGMA data_version, and this connection's own writes clear the cache.
   */
  private cached<T>(key: string, load: () => T): T {
    this.readEpoch();
    if (this.reads.has(key)) return this.reads.get(key) as T;
    const value = load();
    this.reads.set(key, value);
    return value;
  }

  /** Runs several writes as one transaction (imports, benchmarks): one commit instead of many. */
  batch<T>(fn: () => T): T {
    return immediate(this.db, fn);
  }

  // ---- what it stores: one module each (profiles.ts, tokens.ts, authorizations.ts, clients.ts, audit.ts)

  listProfiles(): Profile[] {
    return profiles.listProfiles(this.core);
  }

  profilePage(after: string | undefined, limit: number): { profile: Profile; token: TokenRecord | undefined }[] {
    return profiles.profilePage(this.core, after, limit);
  }

  findProfile(name: string): Profile | undefined {
    return profiles.findProfile(this.core, name);
  }

  getProfile(name: string): Profile {
    return profiles.getProfile(this.core, name);
  }

  saveProfile(p: ProfileWrite, mode: 'create' | 'upsert'): SavedProfile {
    return profiles.saveProfile(this.core, p, mode);
  }

  removeProfile(name: string): boolean {
    return profiles.removeProfile(this.core, name);
  }

  clientAuthMethod(name: string): ClientAuthMethod | undefined {
    return profiles.clientAuthMethod(this.core, name);
  }

  setClientAuthMethod(name: string, method: ClientAuthMethod): void {
    return profiles.setClientAuthMethod(this.core, name, method);
  }

  clientSecret(profile: string | Profile): string {
    return profiles.clientSecret(this.core, profile);
  }

  checkProfile(profile: Profile): void {
    return profiles.checkProfile(this.core, profile);
  }

  findToken(profile: string): TokenRecord | undefined {
    return tokens.findToken(this.core, profile);
  }

  allTokens(): Map<string, TokenRecord> {
    return tokens.allTokens(this.core);
  }

  readTokens(profile: string | Profile): OpenedTokens | undefined {
    return tokens.readTokens(this.core, profile);
  }

  saveTokens(obtainedFor: string | Profile, t: TokenSet, info: TokenOrigin): TokenRecord {
    return tokens.saveTokens(this.core, obtainedFor, t, info);
  }

  setCertificate(profile: string, c: CertificateRecord): void {
    return tokens.setCertificate(this.core, profile, c);
  }

  setCertificateLabel(profile: string, label: string): void {
    return tokens.setCertificateLabel(this.core, profile, label);
  }

  markDead(profile: string, reason: string): void {
    return tokens.markDead(this.core, profile, reason);
  }

  recordFailure(profile: string, error: string): void {
    return tokens.recordFailure(this.core, profile, error);
  }

  deleteTokens(profile: string): boolean {
    return tokens.deleteTokens(this.core, profile);
  }

  dueForRefresh(now = this.now()): string[] {
    return tokens.dueForRefresh(this.core, now);
  }

  addPendingAuthorization(state: string, profile: string, ttlMs: number): number {
    return authorizations.addPendingAuthorization(this.core, state, profile, ttlMs);
  }

  takePendingAuthorization(state: string, profile: string): boolean {
    return authorizations.takePendingAuthorization(this.core, state, profile);
  }

  takeOnlyRecentPending(profile: string, since: number): boolean {
    return authorizations.takeOnlyRecentPending(this.core, profile, since);
  }

  tryAcquireLease(name: string, owner: string, ttlMs: number): boolean {
    return authorizations.tryAcquireLease(this.core, name, owner, ttlMs);
  }

  releaseLease(name: string, owner: string): void {
    return authorizations.releaseLease(this.core, name, owner);
  }

  leaseActive(name: string): boolean {
    return authorizations.leaseActive(this.core, name);
  }

  addApiClient(name: string, key: string, opts: ApiClientOptions = {}): ApiClientRecord & { replacedOldKey: boolean } {
    return clients.addApiClient(this.core, name, key, opts);
  }

  listApiClients(): ApiClientRecord[] {
    return clients.listApiClients(this.core);
  }

  apiClientKey(name: string): ApiClientKey | undefined {
    return clients.apiClientKey(this.core, name);
  }

  removeApiClient(name: string): boolean {
    return clients.removeApiClient(this.core, name);
  }

  touchApiClient(name: string, at = this.now()): void {
    return clients.touchApiClient(this.core, name, at);
  }

  recordAudit(e: AuditEntry): void {
    return audit.recordAudit(this.core, e);
  }

  audit(q: AuditQuery): AuditEntry[] {
    return audit.audit(this.core, q);
  }
  /**
   * Throws VAULT_LOCKED when the key store holds a key that is not this vault's (another
   * machine's keychain, a replaced key file). Every seal and open goes through here.
   *
   * It also migrates a vault sealed before secrets and tokens were bound to their profile's
   * server, client ID and callback URL, once: a check value that opens only under the old
   * associated data means "migrate now"; the migration re-seals every value and then the check
   * value itself under the new one, in one transaction. Once the check value opens under the new
   * associated data the old one is never tried again, and without the key nobody can seal a new
   * check value to turn that back (a plain marker could be reset).
   *
   * What the vault file cannot say is that it was migrated once: a copy from before, put back by
   * someone who can write the file, would migrate again, with whatever they changed in it. So
   * once a migrated vault is seen, that is recorded with the key (its floor, key-record.ts), after
   * the migration committed; a vault whose key's floor is past its check value is refused
   * (VAULT_ROLLED_BACK). Recording it after the commit keeps every crash safe: at worst a
   * migrated vault whose floor is not written yet, which the next process writes.
   */
  checkKey(): void {
    if (this.keyCheck === undefined) return;
    if (this.opensWith(this.keyCheck, KEY_CHECK_AAD)) {
      this.keyCheck = undefined;
      this.recordKeyFloor();
      return;
    }
    if (!this.opensWith(this.keyCheck, LEGACY_KEY_CHECK_AAD)) throw this.wrongKey();
    this.migrateSealedValues();
    // Inside a caller's transaction the migration stands or falls with it: asked again next time.
    if (!this.db.isTransaction) {
      this.keyCheck = undefined;
      this.recordKeyFloor();
    }
  }

  /**
   * Records with the key that its vault is at this schema (only ever raised). A store that cannot
   * be written now (a keychain that refuses, a full disk) leaves the vault working: the next
   * process that uses the key tries again.
   */
  private recordKeyFloor(): void {
    if (this.keyFloor >= SCHEMA_VERSION) return;
    try {
      this.store.raiseFloor(this.key, SCHEMA_VERSION);
      this.keyFloor = SCHEMA_VERSION;
    } catch {
      /* tried again by the next process */
    }
  }

  private wrongKey(): AppError {
    return new AppError('VAULT_LOCKED', `the key in the ${this.keyStore} does not open this vault`);
  }

  private opensWith(sealed: Buffer, aad: string): boolean {
    try {
      open(this.key, sealed, aad);
      return true;
    } catch {
      return false;
    }
  }

  /** Re-seals every secret and token under its profile's identity, then the check value (v1 to v2). */
  private migrateSealedValues(): void {
    const key = this.key;
    const reseal = (sealed: Buffer, field: SealedField, id: ProfileIdentity): Buffer => {
      let plain: string;
      try {
        plain = open(key, sealed, legacyAad(field, id.name));
      } catch {
        return sealed; // it did not open before either: it stays as it is, and will not open
      }
      return seal(key, plain, profileAad(field, id));
    };
    const tx = () => {
      // Read again inside the transaction: another process may have migrated it meanwhile.
      const stored = Buffer.from((this.sql("SELECT v FROM meta WHERE k = 'key_check'").get() as { v: string } | undefined)?.v ?? '', 'base64');
      if (this.opensWith(stored, KEY_CHECK_AAD)) return;
      if (!this.opensWith(stored, LEGACY_KEY_CHECK_AAD)) throw this.wrongKey();
      // Read fresh, its tag checked: another process may have migrated and recorded it since this one opened.
      const floor = this.verifiedKeyFloor();
      if (floor >= SCHEMA_VERSION) {
        throw new AppError(
          'VAULT_ROLLED_BACK',
          `the vault file's check value is of schema 1, but its key in the ${this.keyStore} was recorded with a vault of schema ${floor}`,
        );
      }
      const ids = new Map<string, Profile>();
      for (const r of this.sql(`SELECT ${PROFILE_COLUMNS}, secret FROM profiles`).all() as (ProfileRow & { secret: Uint8Array })[]) {
        const id = rowToProfile(r);
        ids.set(r.name, id);
        this.sql('UPDATE profiles SET secret = ? WHERE name = ?').run(reseal(asBuffer(r.secret), 'secret', id), r.name);
      }
      for (const r of this.sql('SELECT profile, access, refresh FROM tokens').all() as { profile: string; access: Uint8Array; refresh: Uint8Array | null }[]) {
        const id = ids.get(r.profile);
        if (!id) continue;
        this.sql('UPDATE tokens SET access = ?, refresh = ? WHERE profile = ?').run(
          reseal(asBuffer(r.access), 'access', id),
          r.refresh && reseal(asBuffer(r.refresh), 'refresh', id),
          r.profile,
        );
      }
      this.sql("UPDATE meta SET v = ? WHERE k = 'key_check'").run(seal(key, KEY_CHECK_PLAINTEXT, KEY_CHECK_AAD).toString('base64'));
    };
    immediate(this.db, tx);
  }

  /** The key's floor as the store holds it now (1 when it holds another key: nothing to rest a refusal on). */
  private verifiedKeyFloor(): number {
    let record;
    try {
      record = this.store.verifiedRecord();
    } catch (e) {
      throw new AppError('VAULT_ERROR', (e as Error).message, { cause: e });
    }
    return record !== undefined && record.key.equals(this.key) ? record.floor : 1;
  }

  private sealingKey(): Buffer {
    this.checkKey();
    return this.key;
  }

  /** Opens a profile's secret or token for the given identity (aad.ts openBound). */
  private openSealed(sealed: Buffer, field: SealedField, id: ProfileIdentity): string {
    return openBound(this.sealingKey(), sealed, field, id);
  }

  private opensSealed(sealed: Buffer, field: SealedField, id: ProfileIdentity): boolean {
    return opensBound(this.sealingKey(), sealed, field, id);
  }
}
