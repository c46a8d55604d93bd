/**
 * The encrypted token vault: one SQLite file in WAL mode, safe with several host processes at
 * once (Chrome starts one per connection; the CLI and the ERP service run beside them).
 * Secrets and tokens are sealed per value; everything a status table needs stays readable.
 */
import fs from 'node:fs';
import { AppError } from '../../../shared/src/errors.js';
import type { Environment, Profile } from '../../../shared/src/schemas/profile.js';
import {
  hashState,
  tokenRowFields,
  type ApiClientKey,
  type ApiClientOptions,
  type ApiClientRecord,
  type AuditEntry,
  type AuditQuery,
  type CertificateRecord,
  type OpenedTokens,
  type ProfileWrite,
  type SavedProfile,
  type TokenOrigin,
  type TokenRecord,
  type TokenSet,
} from '../store/records.js';
import type { Store } from '../store/store.js';
import { registerSecret } from '../log/logger.js';
import { ensurePrivateDir, type Paths } from '../config/paths.js';
import { open, seal } from './crypto.js';
import { nodeCrypto } from './node-crypto.js';
import { chooseKeyStore, keyStoreOfKind, type KeyStore, type KeyStoreKind } from './key-store.js';
import { ADDED_COLUMNS, SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';
import type { ClientAuthMethod } from '../oauth/anaf-client.js';
import { leaseOwnerGone } from './lease-owner.js';
import { asBuffer, firstValue, immediate, openDatabase, type DatabaseSync, type StatementSync } from './sqlite.js';
import {
  changedFields,
  KEY_CHECK_AAD,
  KEY_CHECK_PLAINTEXT,
  LEGACY_KEY_CHECK_AAD,
  legacyAad,
  profileAad,
  sameIdentity,
  type ProfileIdentity,
  type SealedField,
} from './aad.js';
import path from 'node:path';

/** A token row without its sealed tokens: status reads never load (or keep) the ciphertexts. */
const TOKEN_COLUMNS = `profile, refresh IS NOT NULL AS has_refresh, access_expires_at, refresh_expires_at, authorized_at,
  last_refresh_at, cert_subject, cert_serial, cert_issuer, cert_roles, cert_sha256, cert_source, cert_label, state_echoed, dead_reason, last_error,
  last_failure_at, generation`;
/**
 * Another process's commit is seen at most this late (ms) by a connection that only reads (the
 * ERP service between two requests). Asking costs a read transaction: at 1 ms it was a tenth of
 * a busy service's time per request. This connection's own writes (a lease taken, a token
 * stored) drop its cached reads at once, so no refresh decision rests on a stale read.
 */
const VERSION_CHECK_MS = 10;

/**
 * A monotonic clock in ms. Not performance.now(): on Node 22 the `performance` global loads
 * perf_hooks (nine internal modules, about 1 ms) into every process that opens the vault.
 */
const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

type TokenRow = {
  profile: string;
  /** 1 when a refresh token is stored (the sealed tokens themselves are read only by readTokens). */
  has_refresh: number;
  access_expires_at: number;
  refresh_expires_at: number | null;
  authorized_at: number;
  last_refresh_at: number | null;
  cert_subject: string | null;
  cert_serial: string | null;
  cert_issuer: string | null;
  cert_roles: string | null;
  cert_sha256: string | null;
  cert_source: string | null;
  cert_label: string | null;
  state_echoed: number;
  dead_reason: string | null;
  last_error: string | null;
  last_failure_at: number | null;
  generation: number;
};

type ProfileRow = {
  name: string;
  client_id: string;
  redirect_uri: string;
  env: string;
  refresh_window_days: number;
};
/** A profile row without its sealed secret: only the code that talks to ANAF reads that. */
const PROFILE_COLUMNS = 'name, client_id, redirect_uri, env, refresh_window_days';

type ApiClientRow = {
  name: string;
  /** JSON array of profile names; NULL: every profile. */
  profiles: string | null;
  /** node:sqlite gives BLOBs as Uint8Array; asBuffer() views them as Buffers. */
  key_sealed: Uint8Array | null;
  created_at: number;
  last_used_at: number | null;
  personal_id: number;
};

/**
 * What a sealed client key is bound to: its row and its rights (personal ID, profiles), so a key
 * copied into another row, or a scope widened without the key, does not open. Rows sealed before
 * the rights were bound (`api_clients:<name>:key`) open only while they name no profiles.
 */
export const apiClientAad = (name: string, personalId: boolean, profiles: string[] | undefined): string =>
  `v2:${JSON.stringify(['api_clients', 'key', name, personalId ? 1 : 0, profiles ?? null])}`;
const legacyApiClientAad = (name: string) => `api_clients:${name}:key`;

function parseScope(text: string | null): string[] | undefined {
  if (text === null) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* a damaged scope grants nothing */
  }
  return [];
}

export interface VaultOptions {
  paths: Paths;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
}

function rowToProfile(r: ProfileRow): Profile {
  return {
    name: r.name,
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    env: r.env as Environment,
    refreshWindowDays: r.refresh_window_days,
  };
}

function rowToToken(r: TokenRow): TokenRecord {
  return {
    profile: r.profile,
    accessExpiresAt: r.access_expires_at,
    refreshExpiresAt: r.refresh_expires_at ?? undefined,
    hasRefreshToken: r.has_refresh === 1,
    authorizedAt: r.authorized_at,
    lastRefreshAt: r.last_refresh_at ?? undefined,
    certificate: {
      subject: r.cert_subject ?? undefined,
      serialHex: r.cert_serial ?? undefined,
      issuer: r.cert_issuer ?? undefined,
      roles: r.cert_roles ?? undefined,
      sha256: r.cert_sha256 ?? undefined,
      source: (r.cert_source ?? undefined) as CertificateRecord['source'],
      label: r.cert_label ?? undefined,
    },
    stateEchoed: r.state_echoed === 1,
    deadReason: r.dead_reason ?? undefined,
    lastError: r.last_error ?? undefined,
    lastFailureAt: r.last_failure_at ?? undefined,
    generation: r.generation,
  };
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

  // ---- profiles -------------------------------------------------------------------------

  listProfiles(): Profile[] {
    return (this.sql(`SELECT ${PROFILE_COLUMNS} FROM profiles ORDER BY name`).all() as ProfileRow[]).map(rowToProfile);
  }

  /**
   * Profiles in name order after `after`, at most `limit`, each with its token's status fields:
   * a listing of thousands is read a page at a time instead of all at once.
   */
  profilePage(after: string | undefined, limit: number): { profile: Profile; token: TokenRecord | undefined }[] {
    const rows = this.sql(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE name > ? ORDER BY name LIMIT ?`).all(after ?? '', limit) as ProfileRow[];
    if (rows.length === 0) return [];
    const tokens = this.sql(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE profile >= ? AND profile <= ?`).all(rows[0]!.name, rows.at(-1)!.name) as TokenRow[];
    const byName = new Map(tokens.map((r) => [r.profile, rowToToken(r)]));
    return rows.map((r) => ({ profile: rowToProfile(r), token: byName.get(r.name) }));
  }

  findProfile(name: string): Profile | undefined {
    return this.cached(`profile:${name}`, () => {
      const r = this.sql(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE name = ?`).get(name) as ProfileRow | undefined;
      return r && rowToProfile(r);
    });
  }

  getProfile(name: string): Profile {
    const p = this.findProfile(name);
    if (!p) throw new AppError('PROFILE_NOT_FOUND', name);
    return p;
  }

  /**
   * Creates or updates a profile; a new profile needs a secret. The secret and the tokens are
   * bound to the profile's server, client ID and callback URL: an update that keeps all three
   * may keep the stored secret (it must still open) and the tokens; one that changes any of them
   * needs the secret again and drops the tokens, which belong to the old ones.
   */
  saveProfile(p: ProfileWrite, mode: 'create' | 'upsert'): SavedProfile {
    // ANAF's portal registers only https callbacks: an http one could never match.
    if (!/^https:\/\//i.test(p.redirectUri)) throw new AppError('CALLBACK_INVALID', `the callback URL must start with https:// (${p.redirectUri.slice(0, 200)})`);
    this.checkKey(); // first: a migration re-seals what is read below
    const tx = () => {
      const row = this.sql(`SELECT ${PROFILE_COLUMNS}, secret FROM profiles WHERE name = ?`).get(p.name) as
        | (ProfileRow & { secret: Uint8Array })
        | undefined;
      if (row && mode === 'create') throw new AppError('PROFILE_EXISTS', p.name);
      const before = row && rowToProfile(row);
      const moved = before !== undefined && !sameIdentity(before, p);
      let secret: Buffer;
      if (p.clientSecret !== undefined) secret = seal(this.sealingKey(), p.clientSecret, profileAad('secret', p));
      else if (!row) throw new AppError('SECRET_MISSING');
      else if (moved) {
        throw new AppError(
          'SECRET_MISSING',
          `changing ${changedFields(before, p).join(', ')} of profile "${p.name}" needs its client secret again; its tokens are then dropped and a new authorization with the USB key is needed`,
        );
      } else {
        secret = asBuffer(row.secret);
        this.openSealed(secret, 'secret', before!); // PROFILE_ALTERED when it no longer belongs here
      }
      let tokensDropped = false;
      if (before) {
        const tokens = this.sql('SELECT access FROM tokens WHERE profile = ?').get(p.name) as { access: Uint8Array } | undefined;
        if (tokens && (moved || !this.opensSealed(asBuffer(tokens.access), 'access', p))) {
          this.sql('DELETE FROM tokens WHERE profile = ?').run(p.name);
          tokensDropped = true;
        }
        if (moved) {
          // An authorization started for the old server or callback must not finish on the new one,
          // and how the old server took the client credentials says nothing of the new one.
          this.sql('DELETE FROM pending_authorizations WHERE profile = ?').run(p.name);
          this.sql('UPDATE profiles SET client_auth = NULL WHERE name = ?').run(p.name);
        }
      }
      this.sql(
          `INSERT INTO profiles (name, client_id, redirect_uri, env, refresh_window_days, secret, created_at)
           VALUES (@name, @clientId, @redirectUri, @env, @refreshWindowDays, @secret, @now)
           ON CONFLICT(name) DO UPDATE SET client_id = excluded.client_id, redirect_uri = excluded.redirect_uri,
             env = excluded.env, refresh_window_days = excluded.refresh_window_days, secret = excluded.secret`,
        )
        .run({ name: p.name, clientId: p.clientId, redirectUri: p.redirectUri, env: p.env, refreshWindowDays: p.refreshWindowDays, secret, now: this.now() });
      return tokensDropped;
    };
    const tokensDropped = immediate(this.db, tx);
    return { profile: this.getProfile(p.name), tokensDropped };
  }

  removeProfile(name: string): boolean {
    return this.sql('DELETE FROM profiles WHERE name = ?').run(name).changes > 0;
  }

  /** How ANAF last accepted this profile's client credentials (undefined: not learnt yet). */
  clientAuthMethod(name: string): ClientAuthMethod | undefined {
    const r = this.sql('SELECT client_auth FROM profiles WHERE name = ?').get(name) as { client_auth: string | null } | undefined;
    return r?.client_auth === 'basic' || r?.client_auth === 'post' ? r.client_auth : undefined;
  }

  setClientAuthMethod(name: string, method: ClientAuthMethod): void {
    this.sql('UPDATE profiles SET client_auth = ? WHERE name = ?').run(method, name);
  }

  /**
   * The client secret. Given the profile that is about to be sent to ANAF, it opens only if that
   * profile's server, client ID and callback URL are the ones it was saved with (else
   * PROFILE_ALTERED); given a name, the stored ones are used.
   */
  clientSecret(profile: string | Profile): string {
    const name = typeof profile === 'string' ? profile : profile.name;
    this.checkKey(); // first: a migration re-seals what is read below
    const r = this.sql(`SELECT ${PROFILE_COLUMNS}, secret FROM profiles WHERE name = ?`).get(name) as (ProfileRow & { secret: Uint8Array }) | undefined;
    if (!r) throw new AppError('PROFILE_NOT_FOUND', name);
    const secret = this.openSealed(asBuffer(r.secret), 'secret', typeof profile === 'string' ? rowToProfile(r) : profile);
    registerSecret(secret);
    return secret;
  }

  /**
   * Throws PROFILE_ALTERED unless the profile's secret opens for exactly this server, client ID
   * and callback URL: before anything (even the browser) is sent to that server.
   */
  checkProfile(profile: Profile): void {
    this.clientSecret(profile);
  }

  // ---- tokens ---------------------------------------------------------------------------

  findToken(profile: string): TokenRecord | undefined {
    return this.cached(`token:${profile}`, () => {
      const r = this.sql(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE profile = ?`).get(profile) as TokenRow | undefined;
      return r && rowToToken(r);
    });
  }

  allTokens(): Map<string, TokenRecord> {
    const rows = this.sql(`SELECT ${TOKEN_COLUMNS} FROM tokens`).all() as TokenRow[];
    return new Map(rows.map((r) => [r.profile, rowToToken(r)]));
  }

  /**
   * The tokens themselves; only the code that sends them to ANAF or the ERP asks for these. Code
   * that sends them to the profile's server passes the profile it sends to: they open only for
   * the server, client ID and callback URL they were obtained with (else PROFILE_ALTERED).
   */
  readTokens(profile: string | Profile): OpenedTokens | undefined {
    const id = typeof profile === 'string' ? this.findProfile(profile) : profile;
    if (!id) return undefined;
    return this.cached(`tokens:${profileAad('access', id)}`, () => {
      this.checkKey(); // first: a migration re-seals what is read below
      const r = this.sql('SELECT access, refresh, generation FROM tokens WHERE profile = ?').get(id.name) as
        | { access: Uint8Array; refresh: Uint8Array | null; generation: number }
        | undefined;
      if (!r) return undefined;
      const accessToken = this.openSealed(asBuffer(r.access), 'access', id);
      const refreshToken = r.refresh ? this.openSealed(asBuffer(r.refresh), 'refresh', id) : undefined;
      registerSecret(accessToken);
      registerSecret(refreshToken);
      return { accessToken, refreshToken, generation: r.generation };
    });
  }

  /**
   * Stores the answer of an authorization (new row) or a refresh (same row, next generation),
   * atomically, bound to the profile it was obtained for (its server, client ID and callback URL):
   * when the stored profile changed meanwhile, they are not kept.
   */
  saveTokens(
    obtainedFor: string | Profile,
    t: TokenSet,
    info: TokenOrigin,
  ): TokenRecord {
    const now = this.now();
    const id = typeof obtainedFor === 'string' ? this.getProfile(obtainedFor) : obtainedFor;
    const profile = id.name;
    const access = seal(this.sealingKey(), t.accessToken, profileAad('access', id));
    const refresh = t.refreshToken === undefined ? null : seal(this.sealingKey(), t.refreshToken, profileAad('refresh', id));
    const tx = () => {
      const stored = this.sql(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE name = ?`).get(profile) as ProfileRow | undefined;
      if (!stored) throw new AppError('PROFILE_NOT_FOUND', profile);
      if (!sameIdentity(rowToProfile(stored), id)) {
        throw new AppError(
          'NO_TOKEN',
          `the server, client ID or callback URL of profile "${profile}" changed while ANAF was asked: the tokens it answered were not kept; authorize again with the USB key`,
        );
      }
      const f = tokenRowFields(info, this.findToken(profile), now);
      const cert = f.certificate;
      this.sql(
        `INSERT OR REPLACE INTO tokens (profile, access, refresh, access_expires_at, refresh_expires_at, authorized_at,
           last_refresh_at, cert_subject, cert_serial, cert_issuer, cert_roles, cert_sha256, cert_source, cert_label, state_echoed,
           dead_reason, last_error, last_failure_at, generation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        profile,
        access,
        refresh,
        t.accessExpiresAt,
        t.refreshExpiresAt ?? null,
        f.authorizedAt,
        f.lastRefreshAt,
        cert.subject ?? null,
        cert.serialHex ?? null,
        cert.issuer ?? null,
        cert.roles ?? null,
        cert.sha256 ?? null,
        cert.source ?? null,
        cert.label ?? null,
        f.stateEchoed ? 1 : 0,
        f.deadReason,
        f.lastError,
        f.lastFailureAt,
        f.generation,
      );
    };
    immediate(this.db, tx);
    return this.findToken(profile)!;
  }

  /**
   * Names the holder of a token whose claims did not (found on the USB token afterwards); what
   * ANAF's claims said (serial, issuer) and how it was known stay as they were.
   */
  setCertificate(profile: string, c: CertificateRecord): void {
    this.sql(
      `UPDATE tokens SET cert_subject = ?, cert_serial = COALESCE(cert_serial, ?), cert_sha256 = ?, cert_source = COALESCE(cert_source, ?)
       WHERE profile = ? AND cert_subject IS NULL AND cert_sha256 IS NULL`,
    ).run(c.subject ?? null, c.serialHex ?? null, c.sha256 ?? null, c.source ?? null, profile);
  }

  /** The user's name for the certificate that authenticated (when nothing else tells). */
  setCertificateLabel(profile: string, label: string): void {
    if (this.sql("UPDATE tokens SET cert_label = ?, cert_source = COALESCE(cert_source, 'user') WHERE profile = ?").run(label, profile).changes === 0) {
      this.getProfile(profile);
      throw new AppError('NO_TOKEN', profile);
    }
  }

  markDead(profile: string, reason: string): void {
    this.sql('UPDATE tokens SET dead_reason = ?, last_error = ?, last_failure_at = ? WHERE profile = ?')
      .run(reason, reason, this.now(), profile);
  }

  /** A failed refresh that left the tokens usable: recorded so waiting processes need not retry it. */
  recordFailure(profile: string, error: string): void {
    this.sql('UPDATE tokens SET last_error = ?, last_failure_at = ? WHERE profile = ?').run(error, this.now(), profile);
  }

  deleteTokens(profile: string): boolean {
    return this.sql('DELETE FROM tokens WHERE profile = ?').run(profile).changes > 0;
  }

  /** Profiles whose access token has entered its refresh window (or expired) and is not dead. */
  dueForRefresh(now = this.now()): string[] {
    const rows = this.sql(
        `SELECT t.profile FROM tokens t JOIN profiles p ON p.name = t.profile
         WHERE t.dead_reason IS NULL AND t.refresh IS NOT NULL
           AND t.access_expires_at - p.refresh_window_days * 86400000 <= ?
         ORDER BY t.access_expires_at`,
      )
      .all(now) as { profile: string }[];
    return rows.map((r) => r.profile);
  }

  // ---- pending authorizations -------------------------------------------------------------

  addPendingAuthorization(state: string, profile: string, ttlMs: number): number {
    const now = this.now();
    const expiresAt = now + ttlMs;
    this.sql('DELETE FROM pending_authorizations WHERE expires_at < ?').run(now);
    this.sql('INSERT INTO pending_authorizations (state_hash, profile, created_at, expires_at) VALUES (?, ?, ?, ?)')
      .run(hashState(state), profile, now, expiresAt);
    return expiresAt;
  }

  /** Consumes a pending authorization: a state opens at most one exchange. */
  takePendingAuthorization(state: string, profile: string): boolean {
    const r = this.sql('DELETE FROM pending_authorizations WHERE state_hash = ? AND profile = ? AND expires_at >= ? RETURNING state_hash')
      .get(hashState(state), profile, this.now());
    return r !== undefined;
  }

  /** For an answer without `state`: the single pending authorization of the profile started since `since`. */
  takeOnlyRecentPending(profile: string, since: number): boolean {
    const tx = () => {
      const rows = this.sql('SELECT state_hash FROM pending_authorizations WHERE profile = ? AND created_at >= ? AND expires_at >= ?')
        .all(profile, since, this.now()) as { state_hash: string }[];
      if (rows.length !== 1) return false;
      this.sql('DELETE FROM pending_authorizations WHERE state_hash = ?').run(rows[0]!.state_hash);
      return true;
    };
    return immediate(this.db, tx);
  }

  // ---- leases (single-flight across processes) -----------------------------------------------

  tryAcquireLease(name: string, owner: string, ttlMs: number): boolean {
    const tx = () => {
      const now = this.now();
      const cur = this.sql('SELECT owner, expires_at FROM leases WHERE name = ?').get(name) as
        | { owner: string; expires_at: number }
        | undefined;
      if (cur && cur.owner !== owner && cur.expires_at > now && !leaseOwnerGone(cur.owner)) return false;
      this.sql('INSERT OR REPLACE INTO leases (name, owner, expires_at) VALUES (?, ?, ?)').run(name, owner, now + ttlMs);
      return true;
    };
    return immediate(this.db, tx);
  }

  releaseLease(name: string, owner: string): void {
    this.sql('DELETE FROM leases WHERE name = ? AND owner = ?').run(name, owner);
  }

  leaseActive(name: string): boolean {
    const cur = this.sql('SELECT owner FROM leases WHERE name = ? AND expires_at > ?').get(name, this.now()) as { owner: string } | undefined;
    return cur !== undefined && !leaseOwnerGone(cur.owner);
  }

  // ---- API clients (the ERP token service) ------------------------------------------------

  /**
   * Adds a client with its key, sealed with the vault key. A row of the same name that an older
   * build made (hash only, unusable now) is replaced; any other row of that name is kept
   * (CLIENT_EXISTS).
   */
  addApiClient(name: string, key: string, opts: ApiClientOptions = {}): ApiClientRecord & { replacedOldKey: boolean } {
    const now = this.now();
    const personalId = opts.personalId === true;
    const profiles = opts.profiles && [...new Set(opts.profiles)].sort();
    const sealed = seal(this.sealingKey(), key, apiClientAad(name, personalId, profiles));
    const replacedOldKey = immediate(this.db, () => {
      const existing = this.sql('SELECT key_sealed IS NULL AS old FROM api_clients WHERE name = ?').get(name) as { old: number } | undefined;
      if (existing && existing.old !== 1) throw new AppError('CLIENT_EXISTS', name);
      // key_hash stays empty: a build that still compares SHA-256 hashes matches nothing here.
      this.sql(
        'INSERT OR REPLACE INTO api_clients (name, key_hash, key_sealed, created_at, last_used_at, personal_id, profiles) VALUES (?, ?, ?, ?, NULL, ?, ?)',
      ).run(name, Buffer.alloc(0), sealed, now, personalId ? 1 : 0, profiles ? JSON.stringify(profiles) : null);
      return existing !== undefined;
    });
    return { name, createdAt: now, lastUsedAt: undefined, personalId, profiles, oldKey: false, replacedOldKey };
  }

  listApiClients(): ApiClientRecord[] {
    const rows = this.sql('SELECT name, created_at, last_used_at, personal_id, profiles, key_sealed IS NULL AS old FROM api_clients ORDER BY name').all() as (Omit<
      ApiClientRow,
      'key_sealed'
    > & { old: number })[];
    return rows.map((r) => ({
      name: r.name,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at ?? undefined,
      personalId: r.personal_id === 1,
      profiles: parseScope(r.profiles),
      oldKey: r.old === 1,
    }));
  }

  /**
   * One client's key, opened, for the token service to check a proof; undefined when there is no
   * such client. Cached until the vault changes. A key that does not open is reported, not
   * thrown: a row planted without the vault key must only fail its own requests. (A vault key
   * that opens nothing at all still throws VAULT_LOCKED.)
   */
  apiClientKey(name: string): ApiClientKey | undefined {
    return this.cached(`api-client:${name}`, () => {
      const r = this.sql('SELECT name, key_sealed, created_at, last_used_at, personal_id, profiles FROM api_clients WHERE name = ?').get(name) as ApiClientRow | undefined;
      if (!r) return undefined;
      const personalId = r.personal_id === 1;
      const profiles = parseScope(r.profiles);
      const base = { name: r.name, lastUsedAt: r.last_used_at ?? undefined, personalId, profiles };
      if (r.key_sealed === null) return { ...base, state: 'old', key: undefined } satisfies ApiClientKey;
      const vaultKey = this.sealingKey();
      const sealed = asBuffer(r.key_sealed);
      const opened = (aad: string): string | undefined => {
        try {
          return open(vaultKey, sealed, aad);
        } catch {
          return undefined;
        }
      };
      const key = opened(apiClientAad(r.name, personalId, profiles)) ?? (profiles === undefined ? opened(legacyApiClientAad(r.name)) : undefined);
      if (key === undefined) return { ...base, state: 'unreadable', key: undefined } satisfies ApiClientKey;
      registerSecret(key);
      return { ...base, state: 'ok', key: Buffer.from(key, 'utf8') } satisfies ApiClientKey;
    });
  }

  removeApiClient(name: string): boolean {
    return this.sql('DELETE FROM api_clients WHERE name = ?').run(name).changes > 0;
  }

  touchApiClient(name: string, at = this.now()): void {
    this.sql('UPDATE api_clients SET last_used_at = ? WHERE name = ?').run(at, name);
  }
  // ---- audit ----------------------------------------------------------------------------

  recordAudit(e: AuditEntry): void {
    this.sql('INSERT INTO audit (at, profile, client, generation, host, os_user, action) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      e.at,
      e.profile,
      e.client,
      e.generation,
      e.host,
      e.osUser,
      e.action,
    );
  }

  audit(q: AuditQuery): AuditEntry[] {
    const rows = this.sql(
      `SELECT at, profile, client, generation, host, os_user, action FROM audit
       WHERE (?1 IS NULL OR profile = ?1) AND (?2 IS NULL OR client = ?2) AND at >= ?3
       ORDER BY at DESC, id DESC LIMIT ?4`,
    ).all(q.profile ?? null, q.client ?? null, q.since ?? 0, q.limit) as {
      at: number;
      profile: string;
      client: string;
      generation: number;
      host: string;
      os_user: string;
      action: string;
    }[];
    return rows.map((r) => ({ at: r.at, profile: r.profile, client: r.client, generation: r.generation, host: r.host, osUser: r.os_user, action: r.action === 'refused' ? 'refused' : 'token' }));
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
        throw new AppError('VAULT_ROLLED_BACK', `the vault file's check value is of schema 1, but its key in the ${this.keyStore} was recorded with a vault of schema ${floor}`);
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

  /** Opens a profile's secret or token for the given identity; PROFILE_ALTERED when it is not the one it was sealed for. */
  private openSealed(sealed: Buffer, field: SealedField, id: ProfileIdentity): string {
    const key = this.sealingKey();
    try {
      return open(key, sealed, profileAad(field, id));
    } catch (e) {
      const what = field === 'secret' ? 'client secret' : `${field} token`;
      throw new AppError('PROFILE_ALTERED', `the ${what} of profile "${id.name}" does not open for server ${id.env.slice(0, 200)}`, { cause: e });
    }
  }

  private opensSealed(sealed: Buffer, field: SealedField, id: ProfileIdentity): boolean {
    try {
      this.openSealed(sealed, field, id);
      return true;
    } catch (e) {
      if (e instanceof AppError && e.code === 'PROFILE_ALTERED') return false;
      throw e;
    }
  }
}
