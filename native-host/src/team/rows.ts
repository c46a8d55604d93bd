/** The team store's rows as node-postgres returns them (bigint as number, bytea as Buffer), and the records made of them. */
import type { Profile } from '#shared/schemas/profile.js';
import type { CertificateRecord, TokenRecord } from '../store/records.js';

export type ProfileRow = {
  name: string;
  client_id: string;
  redirect_uri: string;
  env: string;
  refresh_window_days: number;
};
/** A profile row without its sealed secret: only the code that talks to ANAF reads that. */
export const PROFILE_COLUMNS = 'name, client_id, redirect_uri, env, refresh_window_days';

export type TokenRow = {
  profile: string;
  has_refresh: boolean;
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
  state_echoed: boolean;
  dead_reason: string | null;
  last_error: string | null;
  last_failure_at: number | null;
  generation: number;
};
/** A token row without its sealed tokens: status reads never load the ciphertexts. */
export const TOKEN_COLUMNS = `profile, refresh IS NOT NULL AS has_refresh, access_expires_at, refresh_expires_at, authorized_at,
  last_refresh_at, cert_subject, cert_serial, cert_issuer, cert_roles, cert_sha256, cert_source, cert_label, state_echoed, dead_reason, last_error,
  last_failure_at, generation`;

export type ApiClientRow = {
  name: string;
  key_sealed: Buffer;
  created_at: number;
  last_used_at: number | null;
  personal_id: boolean;
  profiles: string[] | null;
};

export type AuditRow = {
  at: number;
  profile: string;
  client: string;
  generation: number;
  host: string;
  os_user: string;
  action: 'token' | 'refused';
};

export type InviteRow = { id: string; wrapped: Buffer; expires_at: number; created_by: string };

export function rowToProfile(r: ProfileRow): Profile {
  return {
    name: r.name,
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    env: r.env,
    refreshWindowDays: r.refresh_window_days,
  };
}

export function rowToToken(r: TokenRow): TokenRecord {
  return {
    profile: r.profile,
    accessExpiresAt: r.access_expires_at,
    refreshExpiresAt: r.refresh_expires_at ?? undefined,
    hasRefreshToken: r.has_refresh,
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
    stateEchoed: r.state_echoed,
    deadReason: r.dead_reason ?? undefined,
    lastError: r.last_error ?? undefined,
    lastFailureAt: r.last_failure_at ?? undefined,
    generation: r.generation,
  };
}
