/** The tokens table: one row per profile, its access and refresh tokens sealed to the profile's identity. */
import { AppError } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import { registerSecret } from '../log/logger.js';
import { tokenRowFields, type CertificateRecord, type OpenedTokens, type TokenOrigin, type TokenRecord, type TokenSet } from '../store/records.js';
import { profileAad, sameIdentity } from './aad.js';
import type { VaultCore } from './core.js';
import { seal } from './crypto.js';
import { findProfile, getProfile } from './profiles.js';
import { PROFILE_COLUMNS, rowToProfile, rowToToken, TOKEN_COLUMNS, type ProfileRow, type TokenRow } from '../store/rows.js';
import { asBuffer } from './sqlite.js';

export function findToken(v: VaultCore, profile: string): TokenRecord | undefined {
  return v.cached(`token:${profile}`, () => {
    const r = v.sql(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE profile = ?`).get(profile) as TokenRow | undefined;
    return r && rowToToken(r);
  });
}

export function allTokens(v: VaultCore): Map<string, TokenRecord> {
  const rows = v.sql(`SELECT ${TOKEN_COLUMNS} FROM tokens`).all() as TokenRow[];
  return new Map(rows.map((r) => [r.profile, rowToToken(r)]));
}

/**
 * The tokens themselves; only the code that sends them to ANAF or the ERP asks for these. Code
 * that sends them to the profile's server passes the profile it sends to: they open only for
 * the server, client ID and callback URL they were obtained with (else PROFILE_ALTERED).
 */
export function readTokens(v: VaultCore, profile: string | Profile): OpenedTokens | undefined {
  const id = typeof profile === 'string' ? findProfile(v, profile) : profile;
  if (!id) return undefined;
  return v.cached(`tokens:${profileAad('access', id)}`, () => {
    v.checkKey(); // first: a migration re-seals what is read below
    const r = v.sql('SELECT access, refresh, generation FROM tokens WHERE profile = ?').get(id.name) as
      { access: Uint8Array; refresh: Uint8Array | null; generation: number } | undefined;
    if (!r) return undefined;
    const accessToken = v.openSealed(asBuffer(r.access), 'access', id);
    const refreshToken = r.refresh ? v.openSealed(asBuffer(r.refresh), 'refresh', id) : undefined;
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
export function saveTokens(v: VaultCore, obtainedFor: string | Profile, t: TokenSet, info: TokenOrigin): TokenRecord {
  const now = v.now();
  const id = typeof obtainedFor === 'string' ? getProfile(v, obtainedFor) : obtainedFor;
  const profile = id.name;
  const access = seal(v.sealingKey(), t.accessToken, profileAad('access', id));
  const refresh = t.refreshToken === undefined ? null : seal(v.sealingKey(), t.refreshToken, profileAad('refresh', id));
  const tx = () => {
    const stored = v.sql(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE name = ?`).get(profile) as ProfileRow | undefined;
    if (!stored) throw new AppError('PROFILE_NOT_FOUND', profile);
    if (!sameIdentity(rowToProfile(stored), id)) {
      throw new AppError(
        'NO_TOKEN',
        `the server, client ID or callback URL of profile "${profile}" changed while ANAF was asked: the tokens it answered were not kept; authorize again with the USB key`,
      );
    }
    // Read here, not from the cache: the generation check must see the last commit.
    const prevRow = v.sql(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE profile = ?`).get(profile) as TokenRow | undefined;
    const f = tokenRowFields(info, prevRow && rowToToken(prevRow), now);
    const cert = f.certificate;
    v.sql(
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
  v.transaction(tx);
  return findToken(v, profile)!;
}

/**
 * Names the holder of a token whose claims did not (found on the USB token afterwards); what
 * ANAF's claims said (serial, issuer) and how it was known stay as they were.
 */
export function setCertificate(v: VaultCore, profile: string, c: CertificateRecord): void {
  v.sql(
    `UPDATE tokens SET cert_subject = ?, cert_serial = COALESCE(cert_serial, ?), cert_sha256 = ?, cert_source = COALESCE(cert_source, ?)
     WHERE profile = ? AND cert_subject IS NULL AND cert_sha256 IS NULL`,
  ).run(c.subject ?? null, c.serialHex ?? null, c.sha256 ?? null, c.source ?? null, profile);
}

/** The user's name for the certificate that authenticated (when nothing else tells). */
export function setCertificateLabel(v: VaultCore, profile: string, label: string): void {
  if (v.sql("UPDATE tokens SET cert_label = ?, cert_source = COALESCE(cert_source, 'user') WHERE profile = ?").run(label, profile).changes === 0) {
    getProfile(v, profile);
    throw new AppError('NO_TOKEN', profile);
  }
}

export function markDead(v: VaultCore, profile: string, reason: string): void {
  v.sql('UPDATE tokens SET dead_reason = ?, last_error = ?, last_failure_at = ? WHERE profile = ?').run(reason, reason, v.now(), profile);
}

/** A failed refresh that left the tokens usable: recorded so waiting processes need not retry it. */
export function recordFailure(v: VaultCore, profile: string, error: string): void {
  v.sql('UPDATE tokens SET last_error = ?, last_failure_at = ? WHERE profile = ?').run(error, v.now(), profile);
}

export function deleteTokens(v: VaultCore, profile: string): boolean {
  return v.sql('DELETE FROM tokens WHERE profile = ?').run(profile).changes > 0;
}

/** Profiles whose access token has entered its refresh window (or expired) and is not dead. */
export function dueForRefresh(v: VaultCore, now = v.now()): string[] {
  const rows = v
    .sql(
      `SELECT t.profile FROM tokens t JOIN profiles p ON p.name = t.profile
       WHERE t.dead_reason IS NULL AND t.refresh IS NOT NULL
         AND t.access_expires_at - p.refresh_window_days * 86400000 <= ?
       ORDER BY t.access_expires_at`,
    )
    .all(now) as { profile: string }[];
  return rows.map((r) => r.profile);
}
