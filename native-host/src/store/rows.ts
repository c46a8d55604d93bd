/**
 * The profile and token rows both engines read (the same columns), and the records made of them:
 * no sealed value among them. SQLite gives a flag as 0/1, node-postgres as a boolean.
 */
import type { Profile } from '#shared/schemas/profile.js';
import type { CertificateRecord, TokenRecord } from './records.js';

export type ProfileRow = {
  name: string;
  client_id: string;
  redirect_uri: string;
  env: string;
  refresh_window_days: number;
};
/** A profile row without its sealed secret: only the code that talks to ANAF reads that. */
export const PROFILE_COLUMNS = 'name, client_id, redirect_uri, env, refresh_window_days';

export function rowToProfile(r: ProfileRow): Profile {
  return {
    name: r.name,
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    env: r.env,
    refreshWindowDays: r.refresh_window_days,
  };
}

/** A token row without its sealed tokens: status reads never load (or keep) the ciphertexts. */
export const TOKEN_COLUMNS = `profile, refresh IS NOT NULL AS has_refresh, access_expires_at, refresh_expires_at, authorized_at,
  last_refresh_at, cert_subject, cert_serial, cert_issuer, cert_roles, cert_sha256, cert_source, cert_label, state_echoed, dead_reason, last_error,
  last_failure_at, generation`;

export type TokenRow = {
  profile: string;
  /** 1 when a refresh token is stored (the sealed tokens themselves are read only by readTokens). */
  has_refresh: number | boolean;
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
  state_echoed: number | boolean;
  dead_reason: string | null;
  last_error: string | null;
  last_failure_at: number | null;
  generation: number;
};

const flag = (v: number | boolean): boolean => v === true || v === 1;

export function rowToToken(r: TokenRow): TokenRecord {
  return {
    profile: r.profile,
    accessExpiresAt: r.access_expires_at,
    refreshExpiresAt: r.refresh_expires_at ?? undefined,
    hasRefreshToken: flag(r.has_refresh),
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
    stateEchoed: flag(r.state_echoed),
    deadReason: r.dead_reason ?? undefined,
    lastError: r.last_error ?? undefined,
    lastFailureAt: r.last_failure_at ?? undefined,
    generation: r.generation,
  };
}
