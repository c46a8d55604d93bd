/**
 * The one rule for handing out an access token (the CLI's \`token\`, the ERP service): refreshed
 * first when due; the stored one while it lasts when a retry may still fix the refresh.
 */
import { AppError, type ErrorCode } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import type { TokenRecord } from '../store/records.js';
import type { TokenDeps } from './deps.js';
import { isDueAt } from './due.js';
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

interface Live {
  profile: Profile;
  rec: TokenRecord;
}

/** The profile and its token record, or the error that says why there is no usable one. */
async function live(deps: TokenDeps, name: string, now: number): Promise<Live> {
  const profile = await deps.store.getProfile(name);
  const rec = await deps.store.findToken(name);
  if (!rec) throw new AppError('NO_TOKEN', name);
  if (rec.deadReason !== undefined) throw deadError(rec);
  if (tokenState(profile, rec, now) === 'dead') throw new AppError('TOKEN_DEAD', 'the refresh token has expired');
  return { profile, rec };
}

/**
 * The stored token, read so that its expiry and its value belong to the same generation. `first`:
 * the profile and record just read (no refresh since), used for the first try instead of reading them again.
 */
async function readGrant(deps: TokenDeps, name: string, failure: AppError | undefined, minUsefulMs: number, first?: Live): Promise<TokenGrant> {
  const now = deps.now ?? Date.now;
  for (let attempt = 0; attempt < 3; attempt++) {
    const { profile, rec } = attempt === 0 && first ? first : await live(deps, name, now());
    if (rec.accessExpiresAt - now() < minUsefulMs) {
      throw new AppError('TOKEN_EXPIRED', failure ? `${failure.code}${failure.detail ? `: ${failure.detail}` : ''}` : undefined);
    }
    const t = await deps.store.readTokens(profile);
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
  const current = await live(deps, name, now());
  if (!isDueAt(current.profile, current.rec, now())) return readGrant(deps, name, undefined, minUsefulMs, current);
  let failure = policy.heldBack?.(name);
  if (!failure) {
    try {
      // Loaded only when a refresh is due: handing out a valid token needs none of ANAF's client.
      await (policy.refresh ?? (async (n: string) => (await import('./refresh.js')).refreshProfile(deps, n)))(name);
    } catch (e) {
      if (!(e instanceof AppError) || isFinal(e.code)) throw e;
      failure = e;
      deps.log.log('warn', 'token.served-stale', { profile: name, code: e.code });
    }
  }
  return readGrant(deps, name, failure, minUsefulMs);
}
