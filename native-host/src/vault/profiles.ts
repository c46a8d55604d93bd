/** The profiles table: the OAuth application each profile names, its client secret sealed to it. */
import { AppError } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import { registerSecret } from '../log/logger.js';
import type { ClientAuthMethod } from '../oauth/anaf-client.js';
import type { ProfileWrite, SavedProfile, TokenRecord } from '../store/records.js';
import { changedFields, profileAad, sameIdentity } from './aad.js';
import type { VaultCore } from './core.js';
import { seal } from './crypto.js';
import { asBuffer } from './sqlite.js';
import { PROFILE_COLUMNS, rowToProfile, rowToToken, TOKEN_COLUMNS, type ProfileRow, type TokenRow } from '../store/rows.js';

export function listProfiles(v: VaultCore): Profile[] {
  return (v.sql(`SELECT ${PROFILE_COLUMNS} FROM profiles ORDER BY name`).all() as ProfileRow[]).map(rowToProfile);
}

/**
 * Profiles in name order after `after`, at most `limit`, each with its token's status fields:
 * a listing of thousands is read a page at a time instead of all at once.
 */
export function profilePage(v: VaultCore, after: string | undefined, limit: number): { profile: Profile; token: TokenRecord | undefined }[] {
  const rows = v.sql(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE name > ? ORDER BY name LIMIT ?`).all(after ?? '', limit) as ProfileRow[];
  if (rows.length === 0) return [];
  const tokens = v.sql(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE profile >= ? AND profile <= ?`).all(rows[0]!.name, rows.at(-1)!.name) as TokenRow[];
  const byName = new Map(tokens.map((r) => [r.profile, rowToToken(r)]));
  return rows.map((r) => ({ profile: rowToProfile(r), token: byName.get(r.name) }));
}

export function findProfile(v: VaultCore, name: string): Profile | undefined {
  return v.cached(`profile:${name}`, () => {
    const r = v.sql(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE name = ?`).get(name) as ProfileRow | undefined;
    return r && rowToProfile(r);
  });
}

export function getProfile(v: VaultCore, name: string): Profile {
  const p = findProfile(v, name);
  if (!p) throw new AppError('PROFILE_NOT_FOUND', name);
  return p;
}

/**
 * Creates or updates a profile; a new profile needs a secret. The secret and the tokens are
 * bound to the profile's server, client ID and callback URL: an update that keeps all three
 * may keep the stored secret (it must still open) and the tokens; one that changes any of them
 * needs the secret again and drops the tokens, which belong to the old ones.
 */
export function saveProfile(v: VaultCore, p: ProfileWrite, mode: 'create' | 'upsert'): SavedProfile {
  // ANAF's portal registers only https callbacks: an http one could never match.
  if (!/^https:\/\//i.test(p.redirectUri)) throw new AppError('CALLBACK_INVALID', `the callback URL must start with https:// (${p.redirectUri.slice(0, 200)})`);
  v.checkKey(); // first: a migration re-seals what is read below
  const tx = () => {
    const row = v.sql(`SELECT ${PROFILE_COLUMNS}, secret FROM profiles WHERE name = ?`).get(p.name) as (ProfileRow & { secret: Uint8Array }) | undefined;
    if (row && mode === 'create') throw new AppError('PROFILE_EXISTS', p.name);
    const before = row && rowToProfile(row);
    const moved = before !== undefined && !sameIdentity(before, p);
    let secret: Buffer;
    if (p.clientSecret !== undefined) secret = seal(v.sealingKey(), p.clientSecret, profileAad('secret', p));
    else if (!row) throw new AppError('SECRET_MISSING');
    else if (moved) {
      throw new AppError(
        'SECRET_MISSING',
        `changing ${changedFields(before, p).join(', ')} of profile "${p.name}" needs its client secret again; its tokens are then dropped and a new authorization with the USB key is needed`,
      );
    } else {
      secret = asBuffer(row.secret);
      v.openSealed(secret, 'secret', before!); // PROFILE_ALTERED when it no longer belongs here
    }
    let tokensDropped = false;
    if (before) {
      const tokens = v.sql('SELECT access FROM tokens WHERE profile = ?').get(p.name) as { access: Uint8Array } | undefined;
      if (tokens && (moved || !v.opensSealed(asBuffer(tokens.access), 'access', p))) {
        v.sql('DELETE FROM tokens WHERE profile = ?').run(p.name);
        tokensDropped = true;
      }
      if (moved) {
        // An authorization started for the old server or callback must not finish on the new one,
        // and how the old server took the client credentials says nothing of the new one.
        v.sql('DELETE FROM pending_authorizations WHERE profile = ?').run(p.name);
        v.sql('UPDATE profiles SET client_auth = NULL WHERE name = ?').run(p.name);
      }
    }
    v.sql(
      `INSERT INTO profiles (name, client_id, redirect_uri, env, refresh_window_days, secret, created_at)
         VALUES (@name, @clientId, @redirectUri, @env, @refreshWindowDays, @secret, @now)
         ON CONFLICT(name) DO UPDATE SET client_id = excluded.client_id, redirect_uri = excluded.redirect_uri,
           env = excluded.env, refresh_window_days = excluded.refresh_window_days, secret = excluded.secret`,
    ).run({ name: p.name, clientId: p.clientId, redirectUri: p.redirectUri, env: p.env, refreshWindowDays: p.refreshWindowDays, secret, now: v.now() });
    return tokensDropped;
  };
  const tokensDropped = v.transaction(tx);
  return { profile: getProfile(v, p.name), tokensDropped };
}

export function removeProfile(v: VaultCore, name: string): boolean {
  return v.sql('DELETE FROM profiles WHERE name = ?').run(name).changes > 0;
}

/** How ANAF last accepted this profile's client credentials (undefined: not learnt yet). */
export function clientAuthMethod(v: VaultCore, name: string): ClientAuthMethod | undefined {
  const r = v.sql('SELECT client_auth FROM profiles WHERE name = ?').get(name) as { client_auth: string | null } | undefined;
  return r?.client_auth === 'basic' || r?.client_auth === 'post' ? r.client_auth : undefined;
}

export function setClientAuthMethod(v: VaultCore, name: string, method: ClientAuthMethod): void {
  v.sql('UPDATE profiles SET client_auth = ? WHERE name = ?').run(method, name);
}

/**
 * The client secret. Given the profile that is about to be sent to ANAF, it opens only if that
 * profile's server, client ID and callback URL are the ones it was saved with (else
 * PROFILE_ALTERED); given a name, the stored ones are used.
 */
export function clientSecret(v: VaultCore, profile: string | Profile): string {
  const name = typeof profile === 'string' ? profile : profile.name;
  v.checkKey(); // first: a migration re-seals what is read below
  const r = v.sql(`SELECT ${PROFILE_COLUMNS}, secret FROM profiles WHERE name = ?`).get(name) as (ProfileRow & { secret: Uint8Array }) | undefined;
  if (!r) throw new AppError('PROFILE_NOT_FOUND', name);
  const secret = v.openSealed(asBuffer(r.secret), 'secret', typeof profile === 'string' ? rowToProfile(r) : profile);
  registerSecret(secret);
  return secret;
}

/**
 * Throws PROFILE_ALTERED unless the profile's secret opens for exactly this server, client ID
 * and callback URL: before anything (even the browser) is sent to that server.
 */
export function checkProfile(v: VaultCore, profile: Profile): void {
  clientSecret(v, profile);
}
