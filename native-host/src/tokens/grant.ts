/**
 * The one rule for handing out an access token (the CLI's \`token\`, the ERP service): refreshed
 * first when due; the stored one while it lasts when a retry may still fix the refresh.
 */
import { AppError, type ErrorCode } from '#shared/errors.js';
import type { TokenRecord } from '../store/records.js';
import type { TokenDeps } from './deps.js';
import { isDue, refreshProfile } from './refresh.js';
import { tokenState } from './status.js';
import { deadError } from './stored-errors.js';

/** An access token this close to its end is not handed out. */
export const MIN_USEFUL_MS = 60_000;

export interface TokenGrant {
  profile: string;
  accessToken: string;
  expiresAt: number;
  /** Which pair it is (one per authorization or refresh): what the audit records. */
  generation: number;
}

/** How a caller refreshes: the token service adds single-flight and a retry backoff. */
export interface GrantPolicy {
  /** Refreshes a due token (default: refreshProfile). */
  refresh?: (name: string) => Promise<unknown>;
  /** A failure that stands for a refresh attempt not made now (a retry is not due yet). */
  heldBack?: (name: string) => AppError | undefined;
  /** An access token closer than this to its end is not handed out. */
  minUsefulMs?: number;
}

/** Errors a retry cannot fix: no backoff, and no stale token to fall back to. */
const FINAL: ReadonlySet<ErrorCode> = new Set(['TOKEN_DEAD', 'NO_TOKEN', 'PROFILE_NOT_FOUND', 'PROFILE_ALTERED']);
export const isFinal = (code: ErrorCode): boolean => FINAL.has(code);

/** The profile's token record, or the error that says why there is no usable one. */
export async function liveRecord(deps: TokenDeps, name: string, now: number): Promise<TokenRecord> {
  const profile = await deps.store.getProfile(name);
  const rec = await deps.store.findToken(name);
  if (!rec) throw new AppError('NO_TOKEN', name);
  if (rec.deadReason !== undefined) throw deadError(rec);
  if (tokenState(profile, rec, now) === 'dead') throw new AppError('TOKEN_DEAD', 'the refresh token has expired');
  return rec;
}

/** The stored token, read so that its expiry and its value belong to the same generation. */
export async function readGrant(deps: TokenDeps, name: string, failure: AppError | undefined, minUsefulMs: number): Promise<TokenGrant> {
  const now = deps.now ?? Date.now;
  for (let attempt = 0; attempt < 3; attempt++) {
    const rec = await liveRecord(deps, name, now());
    if (rec.accessExpiresAt - now() < minUsefulMs) {
      throw new AppError('TOKEN_EXPIRED', failure ? `${failure.code}${failure.detail ? `: ${failure.detail}` : ''}` : undefined);
    }
    const t = await deps.store.readTokens(name);
    if (!t) throw new AppError('NO_TOKEN', name);
    if (t.generation === rec.generation) return { profile: name, accessToken: t.accessToken, expiresAt: rec.accessExpiresAt, generation: rec.generation };
  }
  // Another process kept rotating the token between the two reads.
  throw new AppError('REFRESH_BUSY');
}

/**
 * The one rule for handing out an access token, for the CLI's `token` and the ERP service:
 * refreshed first when due; when that fails for a reason a retry may fix (ANAF down), the stored
 * one while it still lasts a minute.
 */
export async function validAccessToken(deps: TokenDeps, name: string, policy: GrantPolicy = {}): Promise<TokenGrant> {
  const now = deps.now ?? Date.now;
  const minUsefulMs = policy.minUsefulMs ?? MIN_USEFUL_MS;
  if (!(await isDue(deps, name, await liveRecord(deps, name, now())))) return readGrant(deps, name, undefined, minUsefulMs);
  let failure = policy.heldBack?.(name);
  if (!failure) {
    try {
      await (policy.refresh ?? ((n: string) => refreshProfile(deps, n)))(name);
    } catch (e) {
      if (!(e instanceof AppError) || isFinal(e.code)) throw e;
      failure = e;
      deps.log.log('warn', 'token.served-stale', { profile: name, code: e.code });
    }
  }
  return readGrant(deps, name, failure, minUsefulMs);
}
