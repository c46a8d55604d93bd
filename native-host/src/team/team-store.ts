/**
 * The team store: the Store (store/store.ts) on PostgreSQL, shared by the machines of a team.
 * It behaves as the local vault does, method by method (the same records and the same errors);
 * what differs is where the data lives and what a database holder can do with it:
 *
 *  - Every secret (client secrets, access and refresh tokens, ERP client keys) is sealed here, on
 *    the client, with the team key (AES-256-GCM, vault/crypto.ts), bound to its row's identity
 *    (vault/aad.ts, team-seal.ts). The database, a DBA or a backup holds only ciphertexts: an
 *    edited row does not open (PROFILE_ALTERED, or an 'unreadable' client key).
 *  - One refresh per grant across machines: leases are advisory locks (leases.ts).
 *  - Every write that changes what a reader may have cached sends a NOTIFY in its own
 *    transaction; readEpoch() counts them (change-feed.ts).
 *  - While PostgreSQL cannot be reached, the reads the token service needs answer from the last
 *    answer this process got (remembered-reads.ts); writes fail with STORE_UNAVAILABLE, a
 *    non-final error. When the server returns, the pool and the feed reconnect by themselves.
 *
 * Opening is async: `await TeamStore.connect({ url, teamKey })` connects (one pool, one LISTEN
 * connection), applies missing migrations (schema.ts) and reads the team's registration
 * (team-meta.ts); the key itself is proven against it at its first use (checkKey), as the vault
 * does. `team init` passes `register` to record the team in an empty store; a joining machine
 * connects without `teamKey`. close() must be awaited: it ends the pool, the feed and any lease.
 */
import type pg from 'pg';
import { AppError } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import { registerSecret } from '../log/logger.js';
import type { ClientAuthMethod } from '../oauth/anaf-client.js';
import type { Store } from '../store/store.js';
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
import { changedFields, openBound, opensBound, profileAad, sameIdentity, type ProfileIdentity, type SealedField } from '../vault/aad.js';
import { open, seal } from '../vault/crypto.js';
import { CHANGES_CHANNEL, ChangeFeed } from './change-feed.js';
import type { InviteStore, TeamInviteRecord } from './invite-store.js';
import { Leases } from './leases.js';
import { createPool, run, transaction, type ConnectionOptions } from './pg-pool.js';
import { RememberedReads } from './remembered-reads.js';
import {
  PROFILE_COLUMNS,
  rowToProfile,
  rowToToken,
  TOKEN_COLUMNS,
  type ApiClientRow,
  type AuditRow,
  type InviteRow,
  type ProfileRow,
  type TokenRow,
} from './rows.js';
import { migrate } from './schema.js';
import { checkTeamKey, type TeamRegistration } from './team-key.js';
import { loadTeamMeta } from './team-meta.js';
import { apiClientAad, normalScope } from './team-seal.js';

const DAY_MS = 86_400_000;

export interface TeamStoreOptions extends ConnectionOptions {
  /**
   * The team key (32 bytes, team-key.ts loadTeamKey). Without it (a machine about to join) the
   * store reads plain columns, the registration and invites; sealing or opening anything is
   * TEAM_KEY_MISSING.
   */
  teamKey?: Buffer | undefined;
  now?: () => number;
  /** `team init`: a store without a team records this registration (team-key.ts registrationFor). Otherwise such a store is TEAM_NOT_SET_UP. */
  register?: TeamRegistration | undefined;
}

export class TeamStore implements Store, InviteStore {
  readonly engine = 'postgres' as const;
  /** The team this database holds (team_meta): for team-commands.ts (invite, join, status) and `store status`. */
  readonly registration: TeamRegistration;
  /** This connect recorded the registration it was given (`team init` on a store without a team). */
  readonly recordedRegistration: boolean;
  private readonly pool: pg.Pool;
  private readonly key: Buffer | undefined;
  /** The key has been proven against the registration (it is before anything is sealed or opened). */
  private keyProven = false;
  private readonly now: () => number;
  private readonly feed: ChangeFeed;
  private readonly leases: Leases;
  private readonly reads: RememberedReads;

  private constructor(o: TeamStoreOptions, pool: pg.Pool, feed: ChangeFeed, meta: { registration: TeamRegistration; recorded: boolean }) {
    this.pool = pool;
    this.key = o.teamKey;
    this.now = o.now ?? Date.now;
    this.feed = feed;
    this.leases = new Leases(o, pool);
    this.reads = new RememberedReads(feed);
    this.registration = meta.registration;
    this.recordedRegistration = meta.recorded;
  }

  /** Connects, migrates, reads the team; STORE_UNAVAILABLE when the server cannot be reached. */
  static async connect(o: TeamStoreOptions): Promise<TeamStore> {
    if (o.teamKey !== undefined && o.teamKey.length !== 32) throw new AppError('TEAM_KEY_WRONG', 'a team key is 32 bytes');
    const pool = createPool(o);
    const feed = new ChangeFeed(o);
    try {
      await migrate(pool, (o.now ?? Date.now)());
      const meta = await loadTeamMeta(pool, o.register);
      await feed.start();
      return new TeamStore(o, pool, feed, meta);
    } catch (e) {
      await feed.close();
      await pool.end().catch(() => {});
      throw e;
    }
  }

  async close(): Promise<void> {
    this.reads.clear();
    await this.leases.close();
    await this.feed.close();
    await this.pool.end().catch(() => {});
  }

  readEpoch(): number {
    return this.feed.read();
  }

  /** Whether the change feed is listening now (`store status`, tests). */
  get listening(): boolean {
    return this.feed.up;
  }

  /** TEAM_KEY_MISSING without a key; TEAM_KEY_WRONG when it is not the key of the team this store holds. */
  checkKey(): void {
    this.sealingKey();
  }

  private sealingKey(): Buffer {
    if (this.key === undefined) throw new AppError('TEAM_KEY_MISSING');
    if (!this.keyProven) {
      checkTeamKey(this.key, this.registration);
      this.keyProven = true;
    }
    return this.key;
  }

  /** A write committed: this process's remembered reads drop at once (its NOTIFY comes back later). */
  private changed(): void {
    this.feed.bump();
  }

  /**
   * One write statement, and a NOTIFY in the same statement (so in the same transaction) when it
   * changed a row. `sql` must be an INSERT, UPDATE or DELETE without RETURNING; returns the rows changed.
   */
  private async writeNotify(sql: string, params: unknown[], topic: string): Promise<number> {
    const t = `$${params.length + 1}`;
    const r = await run<{ changed: number }>(
      this.pool,
      `WITH w AS (${sql} RETURNING 1), n AS (SELECT pg_notify('${CHANGES_CHANNEL}', ${t}) FROM (SELECT 1 FROM w LIMIT 1) one)
       SELECT (SELECT count(*) FROM w) AS changed, (SELECT count(*) FROM n) AS notified`,
      [...params, topic.slice(0, 200)],
    );
    const changed = r.rows[0]?.changed ?? 0;
    if (changed > 0) this.changed();
    return changed;
  }

  private async notifyIn(c: pg.PoolClient, topic: string): Promise<void> {
    await c.query(`SELECT pg_notify('${CHANGES_CHANNEL}', $1)`, [topic.slice(0, 200)]);
  }

  // ---- profiles -------------------------------------------------------------------------

  async listProfiles(): Promise<Profile[]> {
    return (await run<ProfileRow>(this.pool, `SELECT ${PROFILE_COLUMNS} FROM profiles ORDER BY name`)).rows.map(rowToProfile);
  }

  async profilePage(after: string | undefined, limit: number): Promise<{ profile: Profile; token: TokenRecord | undefined }[]> {
    const rows = (await run<ProfileRow>(this.pool, `SELECT ${PROFILE_COLUMNS} FROM profiles WHERE name > $1 ORDER BY name LIMIT $2`, [after ?? '', limit]))
      .rows;
    if (rows.length === 0) return [];
    const tokens = (
      await run<TokenRow>(this.pool, `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE profile >= $1 AND profile <= $2`, [rows[0]!.name, rows.at(-1)!.name])
    ).rows;
    const byName = new Map(tokens.map((r) => [r.profile, rowToToken(r)]));
    return rows.map((r) => ({ profile: rowToProfile(r), token: byName.get(r.name) }));
  }

  async findProfile(name: string): Promise<Profile | undefined> {
    return this.reads.read(`profile:${name}`, async () => {
      const r = (await run<ProfileRow>(this.pool, `SELECT ${PROFILE_COLUMNS} FROM profiles WHERE name = $1`, [name])).rows[0];
      return r && rowToProfile(r);
    });
  }

  async getProfile(name: string): Promise<Profile> {
    const p = await this.findProfile(name);
    if (!p) throw new AppError('PROFILE_NOT_FOUND', name);
    return p;
  }

  /**
   * Creates or updates a profile; a new profile needs a secret. The secret and the tokens are
   * bound to the profile's server, client ID and callback URL: an update that keeps all three
   * may keep the stored secret (it must still open) and the tokens; one that changes any of them
   * needs the secret again and drops the tokens, which belong to the old ones.
   */
  async saveProfile(p: ProfileWrite, mode: 'create' | 'upsert'): Promise<SavedProfile> {
    if (!/^https:\/\//i.test(p.redirectUri))
      throw new AppError('CALLBACK_INVALID', `the callback URL must start with https:// (${p.redirectUri.slice(0, 200)})`);
    const key = this.sealingKey();
    const newSecret = p.clientSecret === undefined ? undefined : seal(key, p.clientSecret, profileAad('secret', p));
    for (let attempt = 1; ; attempt++) {
      const outcome = await transaction(this.pool, async (c) => {
        const row = (await c.query<ProfileRow & { secret: Buffer }>(`SELECT ${PROFILE_COLUMNS}, secret FROM profiles WHERE name = $1 FOR UPDATE`, [p.name]))
          .rows[0];
        if (row && mode === 'create') throw new AppError('PROFILE_EXISTS', p.name);
        const before = row && rowToProfile(row);
        const moved = before !== undefined && !sameIdentity(before, p);
        let secret: Buffer;
        if (newSecret !== undefined) secret = newSecret;
        else if (!row) throw new AppError('SECRET_MISSING');
        else if (moved) {
          throw new AppError(
            'SECRET_MISSING',
            `changing ${changedFields(before, p).join(', ')} of profile "${p.name}" needs its client secret again; its tokens are then dropped and a new authorization with the USB key is needed`,
          );
        } else {
          secret = row.secret;
          this.openSealed(secret, 'secret', before!); // PROFILE_ALTERED when it no longer belongs here
        }
        if (!row) {
          const ins = await c.query(
            `INSERT INTO profiles (name, client_id, redirect_uri, env, refresh_window_days, secret, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING`,
            [p.name, p.clientId, p.redirectUri, p.env, p.refreshWindowDays, secret, this.now()],
          );
          // Another machine created it since the read: create refuses, upsert reads it again.
          if (ins.rowCount === 0) return 'raced' as const;
          await this.notifyIn(c, `profile:${p.name}`);
          return false;
        }
        let tokensDropped = false;
        const tokens = (await c.query<{ access: Buffer }>('SELECT access FROM tokens WHERE profile = $1 FOR UPDATE', [p.name])).rows[0];
        if (tokens && (moved || !this.opensSealed(tokens.access, 'access', p))) {
          await c.query('DELETE FROM tokens WHERE profile = $1', [p.name]);
          tokensDropped = true;
        }
        if (moved) {
          // An authorization started for the old server or callback must not finish on the new one.
          await c.query('DELETE FROM pending_authorizations WHERE profile = $1', [p.name]);
        }
        await c.query(
          `UPDATE profiles SET client_id = $2, redirect_uri = $3, env = $4, refresh_window_days = $5, secret = $6,
             client_auth = CASE WHEN $7 THEN NULL ELSE client_auth END
           WHERE name = $1`,
          [p.name, p.clientId, p.redirectUri, p.env, p.refreshWindowDays, secret, moved],
        );
        // The due scan's column follows the window (schema.ts).
        await c.query('UPDATE tokens SET refresh_due_at = access_expires_at - $2::bigint * $3 WHERE profile = $1', [p.name, p.refreshWindowDays, DAY_MS]);
        await this.notifyIn(c, `profile:${p.name}`);
        return tokensDropped;
      });
      if (outcome === 'raced') {
        if (mode === 'create') throw new AppError('PROFILE_EXISTS', p.name);
        if (attempt < 3) continue;
        throw new AppError('STORE_ERROR', `profile "${p.name}" kept changing while it was saved`);
      }
      this.changed();
      return { profile: await this.getProfile(p.name), tokensDropped: outcome };
    }
  }

  async removeProfile(name: string): Promise<boolean> {
    return (await this.writeNotify('DELETE FROM profiles WHERE name = $1', [name], `profile:${name}`)) > 0;
  }

  async clientAuthMethod(name: string): Promise<ClientAuthMethod | undefined> {
    const r = (await run<{ client_auth: string | null }>(this.pool, 'SELECT client_auth FROM profiles WHERE name = $1', [name])).rows[0];
    return r?.client_auth === 'basic' || r?.client_auth === 'post' ? r.client_auth : undefined;
  }

  async setClientAuthMethod(name: string, method: ClientAuthMethod): Promise<void> {
    await run(this.pool, 'UPDATE profiles SET client_auth = $2 WHERE name = $1', [name, method]);
  }

  /**
   * The client secret. Given the profile that is about to be sent to ANAF, it opens only if that
   * profile's server, client ID and callback URL are the ones it was saved with (else
   * PROFILE_ALTERED); given a name, the stored ones are used.
   */
  async clientSecret(profile: string | Profile): Promise<string> {
    const name = typeof profile === 'string' ? profile : profile.name;
    const key = typeof profile === 'string' ? `secret-of:${name}` : `secret:${profileAad('secret', profile)}`;
    return this.reads.read(key, async () => {
      this.checkKey(); // first, as the vault: a wrong key is told before anything else
      const r = (await run<ProfileRow & { secret: Buffer }>(this.pool, `SELECT ${PROFILE_COLUMNS}, secret FROM profiles WHERE name = $1`, [name])).rows[0];
      if (!r) throw new AppError('PROFILE_NOT_FOUND', name);
      const secret = this.openSealed(r.secret, 'secret', typeof profile === 'string' ? rowToProfile(r) : profile);
      registerSecret(secret);
      return secret;
    });
  }

  async checkProfile(profile: Profile): Promise<void> {
    await this.clientSecret(profile);
  }

  // ---- tokens ---------------------------------------------------------------------------

  async findToken(profile: string): Promise<TokenRecord | undefined> {
    return this.reads.read(`token:${profile}`, async () => {
      const r = (await run<TokenRow>(this.pool, `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE profile = $1`, [profile])).rows[0];
      return r && rowToToken(r);
    });
  }

  async allTokens(): Promise<Map<string, TokenRecord>> {
    const rows = (await run<TokenRow>(this.pool, `SELECT ${TOKEN_COLUMNS} FROM tokens`)).rows;
    return new Map(rows.map((r) => [r.profile, rowToToken(r)]));
  }

  /**
   * The tokens themselves; they open only for the server, client ID and callback URL they were
   * obtained with (else PROFILE_ALTERED).
   */
  async readTokens(profile: string | Profile): Promise<OpenedTokens | undefined> {
    const id = typeof profile === 'string' ? await this.findProfile(profile) : profile;
    if (!id) return undefined;
    return this.reads.read(`tokens:${profileAad('access', id)}`, async () => {
      this.checkKey();
      const r = (
        await run<{ access: Buffer; refresh: Buffer | null; generation: number }>(
          this.pool,
          'SELECT access, refresh, generation FROM tokens WHERE profile = $1',
          [id.name],
        )
      ).rows[0];
      if (!r) return undefined;
      const accessToken = this.openSealed(r.access, 'access', id);
      const refreshToken = r.refresh ? this.openSealed(r.refresh, 'refresh', id) : undefined;
      registerSecret(accessToken);
      registerSecret(refreshToken);
      return { accessToken, refreshToken, generation: r.generation };
    });
  }

  /**
   * Stores the answer of an authorization (new row) or a refresh (same row, next generation) in
   * one transaction with its NOTIFY, bound to the profile it was obtained for: when the stored
   * profile changed meanwhile, they are not kept (NO_TOKEN).
   */
  async saveTokens(obtainedFor: string | Profile, t: TokenSet, info: TokenOrigin): Promise<TokenRecord> {
    const now = this.now();
    const id = typeof obtainedFor === 'string' ? await this.getProfile(obtainedFor) : obtainedFor;
    const profile = id.name;
    const key = this.sealingKey();
    const access = seal(key, t.accessToken, profileAad('access', id));
    const refresh = t.refreshToken === undefined ? null : seal(key, t.refreshToken, profileAad('refresh', id));
    const record = await transaction(this.pool, async (c) => {
      // The profile row locked: saves of its tokens (even the first, when there is no token row to
      // lock yet) run one after the other, and a save of the profile cannot change its identity under us.
      const stored = (await c.query<ProfileRow>(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE name = $1 FOR UPDATE`, [profile])).rows[0];
      if (!stored) throw new AppError('PROFILE_NOT_FOUND', profile);
      if (!sameIdentity(rowToProfile(stored), id)) {
        throw new AppError(
          'NO_TOKEN',
          `the server, client ID or callback URL of profile "${profile}" changed while ANAF was asked: the tokens it answered were not kept; authorize again with the USB key`,
        );
      }
      const prevRow = (await c.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE profile = $1`, [profile])).rows[0];
      const f = tokenRowFields(info, prevRow && rowToToken(prevRow), now);
      const cert = f.certificate;
      const r = await c.query<TokenRow>(
        `INSERT INTO tokens (profile, access, refresh, access_expires_at, refresh_expires_at, refresh_due_at, authorized_at,
           last_refresh_at, cert_subject, cert_serial, cert_issuer, cert_roles, cert_sha256, cert_source, cert_label, state_echoed,
           dead_reason, last_error, last_failure_at, generation)
         VALUES ($1, $2, $3, $4, $5, $4 - $6::bigint * ${DAY_MS}, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
         ON CONFLICT (profile) DO UPDATE SET access = excluded.access, refresh = excluded.refresh,
           access_expires_at = excluded.access_expires_at, refresh_expires_at = excluded.refresh_expires_at,
           refresh_due_at = excluded.refresh_due_at, authorized_at = excluded.authorized_at, last_refresh_at = excluded.last_refresh_at,
           cert_subject = excluded.cert_subject, cert_serial = excluded.cert_serial, cert_issuer = excluded.cert_issuer,
           cert_roles = excluded.cert_roles, cert_sha256 = excluded.cert_sha256, cert_source = excluded.cert_source,
           cert_label = excluded.cert_label, state_echoed = excluded.state_echoed, dead_reason = excluded.dead_reason,
           last_error = excluded.last_error, last_failure_at = excluded.last_failure_at, generation = excluded.generation
         RETURNING ${TOKEN_COLUMNS}`,
        [
          profile,
          access,
          refresh,
          t.accessExpiresAt,
          t.refreshExpiresAt ?? null,
          stored.refresh_window_days,
          f.authorizedAt,
          f.lastRefreshAt,
          cert.subject ?? null,
          cert.serialHex ?? null,
          cert.issuer ?? null,
          cert.roles ?? null,
          cert.sha256 ?? null,
          cert.source ?? null,
          cert.label ?? null,
          f.stateEchoed,
          f.deadReason,
          f.lastError,
          f.lastFailureAt,
          f.generation,
        ],
      );
      await this.notifyIn(c, `tokens:${profile}`);
      return rowToToken(r.rows[0]!);
    });
    this.changed();
    return record;
  }

  /**
   * Names the holder of a token whose claims did not (found on the USB token afterwards); what
   * ANAF's claims said (serial, issuer) and how it was known stay as they were.
   */
  async setCertificate(profile: string, c: CertificateRecord): Promise<void> {
    await this.writeNotify(
      `UPDATE tokens SET cert_subject = $1, cert_serial = COALESCE(cert_serial, $2), cert_sha256 = $3, cert_source = COALESCE(cert_source, $4)
       WHERE profile = $5 AND cert_subject IS NULL AND cert_sha256 IS NULL`,
      [c.subject ?? null, c.serialHex ?? null, c.sha256 ?? null, c.source ?? null, profile],
      `tokens:${profile}`,
    );
  }

  /** The user's name for the certificate that authenticated (when nothing else tells). */
  async setCertificateLabel(profile: string, label: string): Promise<void> {
    const n = await this.writeNotify(
      "UPDATE tokens SET cert_label = $1, cert_source = COALESCE(cert_source, 'user') WHERE profile = $2",
      [label, profile],
      `tokens:${profile}`,
    );
    if (n === 0) {
      await this.getProfile(profile);
      throw new AppError('NO_TOKEN', profile);
    }
  }

  async markDead(profile: string, reason: string): Promise<void> {
    await this.writeNotify(
      'UPDATE tokens SET dead_reason = $1, last_error = $1, last_failure_at = $2 WHERE profile = $3',
      [reason, this.now(), profile],
      `tokens:${profile}`,
    );
  }

  /** A failed refresh that left the tokens usable: recorded so waiting processes need not retry it. */
  async recordFailure(profile: string, error: string): Promise<void> {
    await this.writeNotify('UPDATE tokens SET last_error = $1, last_failure_at = $2 WHERE profile = $3', [error, this.now(), profile], `tokens:${profile}`);
  }

  async deleteTokens(profile: string): Promise<boolean> {
    return (await this.writeNotify('DELETE FROM tokens WHERE profile = $1', [profile], `tokens:${profile}`)) > 0;
  }

  /** Profiles whose access token has entered its refresh window (or expired) and is not dead: one range of the tokens_due index. */
  async dueForRefresh(now = this.now()): Promise<string[]> {
    const rows = (
      await run<{ profile: string }>(
        this.pool,
        `SELECT profile FROM tokens WHERE dead_reason IS NULL AND refresh IS NOT NULL AND refresh_due_at <= $1 ORDER BY access_expires_at`,
        [now],
      )
    ).rows;
    return rows.map((r) => r.profile);
  }

  // ---- pending authorizations -------------------------------------------------------------

  async addPendingAuthorization(state: string, profile: string, ttlMs: number): Promise<number> {
    const now = this.now();
    const expiresAt = now + ttlMs;
    await transaction(this.pool, async (c) => {
      await c.query('DELETE FROM pending_authorizations WHERE expires_at < $1', [now]);
      await c.query('INSERT INTO pending_authorizations (state_hash, profile, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
        hashState(state),
        profile,
        now,
        expiresAt,
      ]);
    });
    return expiresAt;
  }

  /** Consumes a pending authorization: a state opens at most one exchange. */
  async takePendingAuthorization(state: string, profile: string): Promise<boolean> {
    const r = await run(this.pool, 'DELETE FROM pending_authorizations WHERE state_hash = $1 AND profile = $2 AND expires_at >= $3 RETURNING state_hash', [
      hashState(state),
      profile,
      this.now(),
    ]);
    return r.rowCount! > 0;
  }

  /** For an answer without `state`: the single pending authorization of the profile started since `since`. */
  async takeOnlyRecentPending(profile: string, since: number): Promise<boolean> {
    return transaction(this.pool, async (c) => {
      const rows = (
        await c.query<{ state_hash: string }>(
          'SELECT state_hash FROM pending_authorizations WHERE profile = $1 AND created_at >= $2 AND expires_at >= $3 FOR UPDATE',
          [profile, since, this.now()],
        )
      ).rows;
      if (rows.length !== 1) return false;
      return (await c.query('DELETE FROM pending_authorizations WHERE state_hash = $1', [rows[0]!.state_hash])).rowCount! > 0;
    });
  }

  // ---- leases (leases.ts) -------------------------------------------------------------------

  async tryAcquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const got = await this.leases.tryAcquire(name, owner, ttlMs);
    // The holder decides on what it reads next: nothing it remembers from before may stand.
    if (got) this.changed();
    return got;
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await this.leases.release(name, owner);
  }

  async leaseActive(name: string): Promise<boolean> {
    return this.leases.active(name);
  }

  // ---- API clients (the ERP token service) ------------------------------------------------

  /** Adds a client with its key, sealed with the team key and bound to its name and scope; CLIENT_EXISTS when the name is taken. */
  async addApiClient(name: string, key: string, opts: ApiClientOptions = {}): Promise<ApiClientRecord & { replacedOldKey: boolean }> {
    const now = this.now();
    const personalId = opts.personalId === true;
    const profiles = normalScope(opts.profiles);
    const sealed = seal(this.sealingKey(), key, apiClientAad(name, personalId, profiles));
    const n = await this.writeNotify(
      'INSERT INTO api_clients (name, key_sealed, created_at, last_used_at, personal_id, profiles) VALUES ($1, $2, $3, NULL, $4, $5) ON CONFLICT (name) DO NOTHING',
      [name, sealed, now, personalId, profiles ?? null],
      `api-client:${name}`,
    );
    if (n === 0) throw new AppError('CLIENT_EXISTS', name);
    // The team store never held hash-only keys (those were the vault's before sealed keys).
    return { name, createdAt: now, lastUsedAt: undefined, personalId, profiles, oldKey: false, replacedOldKey: false };
  }

  async listApiClients(): Promise<ApiClientRecord[]> {
    const rows = (
      await run<Omit<ApiClientRow, 'key_sealed'>>(this.pool, 'SELECT name, created_at, last_used_at, personal_id, profiles FROM api_clients ORDER BY name')
    ).rows;
    return rows.map((r) => ({
      name: r.name,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at ?? undefined,
      personalId: r.personal_id,
      profiles: r.profiles ?? undefined,
      oldKey: false,
    }));
  }

  /**
   * One client's key, opened, for the token service to check a proof; undefined when there is no
   * such client. A key that does not open (planted, damaged, moved from another row, or its
   * scope edited) is 'unreadable', not thrown: it fails only its own requests. A team key that
   * opens nothing at all still throws TEAM_KEY_WRONG.
   */
  async apiClientKey(name: string): Promise<ApiClientKey | undefined> {
    return this.reads.read(`api-client:${name}`, async () => {
      const r = (
        await run<ApiClientRow>(this.pool, 'SELECT name, key_sealed, created_at, last_used_at, personal_id, profiles FROM api_clients WHERE name = $1', [name])
      ).rows[0];
      if (!r) return undefined;
      const profiles = r.profiles ?? undefined;
      const base = { name: r.name, lastUsedAt: r.last_used_at ?? undefined, personalId: r.personal_id, profiles };
      const teamKey = this.sealingKey();
      try {
        const key = open(teamKey, r.key_sealed, apiClientAad(r.name, r.personal_id, profiles));
        registerSecret(key);
        return { ...base, state: 'ok', key: Buffer.from(key, 'utf8') } satisfies ApiClientKey;
      } catch {
        return { ...base, state: 'unreadable', key: undefined } satisfies ApiClientKey;
      }
    });
  }

  async removeApiClient(name: string): Promise<boolean> {
    return (await this.writeNotify('DELETE FROM api_clients WHERE name = $1', [name], `api-client:${name}`)) > 0;
  }

  async touchApiClient(name: string, at = this.now()): Promise<void> {
    await this.writeNotify('UPDATE api_clients SET last_used_at = $1 WHERE name = $2', [at, name], `api-client:${name}`);
  }

  // ---- audit ------------------------------------------------------------------------------

  async recordAudit(e: AuditEntry): Promise<void> {
    await run(this.pool, 'INSERT INTO audit (at, profile, client, generation, host, os_user, action) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      e.at,
      e.profile,
      e.client,
      e.generation,
      e.host,
      e.osUser,
      e.action,
    ]);
  }

  /** Newest first, filtered by profile, client and time (from `since` on), at most `limit`. */
  async audit(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      params.push(v);
      where.push(cond.replace('?', `$${params.length}`));
    };
    if (q.profile !== undefined) add('profile = ?', q.profile);
    if (q.client !== undefined) add('client = ?', q.client);
    if (q.since !== undefined) add('at >= ?', q.since);
    params.push(Math.max(0, Math.floor(q.limit)));
    const rows = (
      await run<AuditRow>(
        this.pool,
        `SELECT at, profile, client, generation, host, os_user, action FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY at DESC, id DESC LIMIT $${params.length}`,
        params,
      )
    ).rows;
    return rows.map((r) => ({ at: r.at, profile: r.profile, client: r.client, generation: r.generation, host: r.host, osUser: r.os_user, action: r.action }));
  }

  // ---- team invites (team/invite-store.ts) ----------------------------------------------

  async putInvite(r: TeamInviteRecord): Promise<void> {
    await transaction(this.pool, async (c) => {
      await c.query('DELETE FROM team_invites WHERE expires_at < $1', [this.now()]);
      await c.query('INSERT INTO team_invites (id, wrapped, expires_at, created_by) VALUES ($1, $2, $3, $4)', [r.id, r.wrapped, r.expiresAt, r.createdBy]);
    });
  }

  /** Deletes and returns the invite, in one statement: of two joins with it, one gets it. An expired one is deleted and refused. */
  async takeInvite(id: string, now: number): Promise<TeamInviteRecord | undefined> {
    const r = (await run<InviteRow>(this.pool, 'DELETE FROM team_invites WHERE id = $1 RETURNING id, wrapped, expires_at, created_by', [id])).rows[0];
    if (!r || r.expires_at < now) return undefined;
    return { id: r.id, wrapped: r.wrapped, expiresAt: r.expires_at, createdBy: r.created_by };
  }

  // ---- sealing ------------------------------------------------------------------------------

  /** Opens a profile's secret or token for the given identity (aad.ts openBound). */
  private openSealed(sealed: Buffer, field: SealedField, id: ProfileIdentity): string {
    return openBound(this.sealingKey(), sealed, field, id);
  }

  private opensSealed(sealed: Buffer, field: SealedField, id: ProfileIdentity): boolean {
    return opensBound(this.sealingKey(), sealed, field, id);
  }
}
