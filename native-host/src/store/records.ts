/**
 * What a store keeps, as the domain code sees it: the same records whichever engine holds them
 * (the local vault on SQLite, the team store on PostgreSQL). Sealed values never appear here.
 */
import { AppError } from '#shared/errors.js';
import type { Environment, Profile } from '#shared/schemas/profile.js';
import { nodeCrypto } from '../vault/node-crypto.js';

export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  accessExpiresAt: number;
  refreshExpiresAt: number | undefined;
}

export interface CertificateRecord {
  subject?: string | undefined;
  serialHex?: string | undefined;
  /** The certificate issuer as ANAF's token names it (e.g. "DigiSign Qualified CA Class 3 2017"). */
  issuer?: string | undefined;
  /** ANAF's `roles` claim, e.g. "HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA". */
  roles?: string | undefined;
  sha256?: string | undefined;
  source?: 'jwt' | 'only-certificate' | 'user' | undefined;
  label?: string | undefined;
}

/** A token row as stored, with the sealed values left sealed until asked for. */
export interface TokenRecord {
  profile: string;
  accessExpiresAt: number;
  refreshExpiresAt: number | undefined;
  hasRefreshToken: boolean;
  authorizedAt: number;
  lastRefreshAt: number | undefined;
  certificate: CertificateRecord;
  stateEchoed: boolean;
  deadReason: string | undefined;
  lastError: string | undefined;
  lastFailureAt: number | undefined;
  generation: number;
}

/** The tokens themselves, opened; only code that sends them to ANAF or the ERP asks for these. */
export interface OpenedTokens {
  accessToken: string;
  refreshToken: string | undefined;
  generation: number;
}

/** How the tokens were obtained, for saveTokens. */
export type TokenOrigin =
  | { kind: 'authorization'; certificate: CertificateRecord; stateEchoed: boolean }
  /**
   * `basedOn`: the generation whose refresh token was used. The save is refused when another
   * process stored a pair meanwhile (its lease ran out mid-refresh): the older answer never
   * overwrites a newer one.
   */
  | { kind: 'refresh'; certificate: CertificateRecord; basedOn?: number }
  /** Moved from another store (store/migrate.ts): the row's history comes along. */
  | { kind: 'import'; record: TokenRecord };

/** A program allowed to use the ERP token service (never its key). */
export interface ApiClientRecord {
  name: string;
  createdAt: number;
  lastUsedAt: number | undefined;
  /** May see the personal ID number (serialNumber=PNO…) in certificate subjects. */
  personalId: boolean;
  /** The profiles it may get tokens of; undefined: all of them. */
  profiles: string[] | undefined;
  /** Made by a build that kept only a SHA-256 of the key: it proves nothing any more; add the client again. */
  oldKey: boolean;
}

/** A client's key as the token service needs it to check a proof. */
export interface ApiClientKey {
  name: string;
  /** 'old': a hash-only row of an older build; 'unreadable': the sealed key does not open (planted, damaged, moved from another row, or its scope edited). */
  state: 'ok' | 'old' | 'unreadable';
  /** The key's characters, the HMAC key of its proofs; only when `state` is 'ok'. */
  key: Buffer | undefined;
  lastUsedAt: number | undefined;
  personalId: boolean;
  /** The profiles it may get tokens of; undefined: all of them. Bound to the sealed key. */
  profiles: string[] | undefined;
}

export interface ApiClientOptions {
  personalId?: boolean;
  /** Limit the client to these profiles (default: all). */
  profiles?: string[];
}

export interface ProfileWrite {
  name: string;
  clientId: string;
  redirectUri: string;
  env: Environment;
  refreshWindowDays: number;
  clientSecret?: string | undefined;
}

/** What a save did beside storing the profile. */
export interface SavedProfile {
  profile: Profile;
  /**
   * The profile's tokens were dropped: its server, client ID or callback URL changed (the tokens
   * belong to the old ones), or they no longer opened. A new authorization with the USB key is needed.
   */
  tokensDropped: boolean;
}

/** One token handed out, as the audit keeps it: who got which generation of which profile's token, when. */
export interface AuditEntry {
  at: number;
  profile: string;
  /** The ERP client's name; 'cli' for `anaf-token token`, 'extension' for the browser. */
  client: string;
  generation: number;
  /** Which machine and OS user served it (the team store is shared by many). */
  host: string;
  osUser: string;
  /** 'token' (handed out) or 'refused' (a client without the right to this profile). */
  action: 'token' | 'refused';
}

export interface AuditQuery {
  profile?: string | undefined;
  client?: string | undefined;
  since?: number | undefined;
  limit: number;
}

const defined = (c: CertificateRecord): CertificateRecord => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));

/**
 * The certificate facts to store with new tokens. A refresh keeps what was known (the holder's
 * name found on the USB key, the user's label) and takes what the new token says. A new
 * authorization starts afresh unless the token names the same certificate serial as before.
 */
export function mergeCertificate(prev: CertificateRecord | undefined, fresh: CertificateRecord, authorization: boolean): CertificateRecord {
  const now = defined(fresh);
  const named = now.subject !== undefined || now.sha256 !== undefined || now.serialHex !== undefined;
  if (named) now.source = 'jwt';
  const same = prev !== undefined && (!authorization || (now.serialHex !== undefined && now.serialHex === prev.serialHex));
  return same ? { ...defined(prev), ...now } : now;
}

/** What a save of tokens writes beside them, in either engine: from how they were obtained and the row before. */
export interface TokenRowFields {
  authorizedAt: number;
  lastRefreshAt: number | null;
  certificate: CertificateRecord;
  stateEchoed: boolean;
  generation: number;
  deadReason: string | null;
  lastError: string | null;
  lastFailureAt: number | null;
}

export function tokenRowFields(info: TokenOrigin, prev: TokenRecord | undefined, now: number): TokenRowFields {
  if (info.kind === 'refresh' && info.basedOn !== undefined && prev?.generation !== info.basedOn) {
    throw new AppError(
      'REFRESH_BUSY',
      `another process stored generation ${prev?.generation ?? 'none'} while this refresh of generation ${info.basedOn} ran: its answer is not kept`,
    );
  }
  const next = (prev?.generation ?? 0) + 1;
  if (info.kind === 'import') {
    const r = info.record;
    return {
      authorizedAt: r.authorizedAt,
      lastRefreshAt: r.lastRefreshAt ?? null,
      certificate: r.certificate,
      stateEchoed: r.stateEchoed,
      // Generations only grow: the audit's rows of the source keep meaning what they meant.
      generation: Math.max(next, r.generation),
      deadReason: r.deadReason ?? null,
      lastError: r.lastError ?? null,
      lastFailureAt: r.lastFailureAt ?? null,
    };
  }
  const authorization = info.kind === 'authorization';
  return {
    authorizedAt: authorization ? now : (prev?.authorizedAt ?? now),
    lastRefreshAt: authorization ? null : now,
    certificate: mergeCertificate(prev?.certificate, info.certificate, authorization),
    stateEchoed: authorization ? info.stateEchoed : prev?.stateEchoed !== false,
    generation: next,
    deadReason: null,
    lastError: null,
    lastFailureAt: null,
  };
}

/** Pending authorizations are kept by a hash of their state: a copy of the store cannot finish one. */
export function hashState(state: string): string {
  return nodeCrypto().createHash('sha256').update(state).digest('base64url');
}
