/**
 * Refreshing a grant: only when due (or forced), one process at a time (lease.ts), and what ANAF
 * answered is kept with the grant, so that waiting processes report it instead of asking again.
 */
import { AppError } from '#shared/errors.js';
import { clientAuthOf, refreshTokens } from '../oauth/anaf-client.js';
import { certificateFromClaims } from '../oauth/token-claims.js';
import type { TokenRecord } from '../store/records.js';
import type { TokenDeps } from './deps.js';
import { isDueAt } from './due.js';
import { leaseActive, withLease } from './lease.js';
import { deadError, storedError } from './stored-errors.js';

export interface RefreshResult {
  /** 'busy': another process holds the lease and the caller asked not to wait (skipBusy). */
  outcome: 'refreshed' | 'refreshed-elsewhere' | 'not-due' | 'busy';
  record: TokenRecord;
}

export async function isDue(deps: TokenDeps, profile: string, rec: TokenRecord): Promise<boolean> {
  return isDueAt(await deps.store.getProfile(profile), rec, (deps.now ?? Date.now)());
}

/**
 * ANAF refused this grant's last refresh for a reason that is neither a dead grant, the client
 * credentials nor a rate limit: asking again gets the same answer, so only a forced refresh
 * (the user's own) asks. A stored error belongs to the current generation: new tokens clear it.
 */
const refusedBefore = (rec: TokenRecord): boolean => rec.lastError?.startsWith('AUTHORIZATION_FAILED:') === true;

export interface RefreshOptions {
  /** Refresh even when not due (the user's own request). */
  force?: boolean;
  /** Do not wait while another process refreshes it: the scheduler moves on to the next grant. */
  skipBusy?: boolean;
}

export async function refreshProfile(deps: TokenDeps, name: string, opts: RefreshOptions = {}): Promise<RefreshResult> {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  const profile = await store.getProfile(name);
  const start = await store.findToken(name);
  if (!start) throw new AppError('NO_TOKEN', name);
  if (start.deadReason !== undefined) throw deadError(start);
  if (!opts.force && !(await isDue(deps, name, start))) return { outcome: 'not-due', record: start };
  if (!opts.force && refusedBefore(start)) throw storedError(start.lastError!);
  const waitStartedAt = now();

  const elsewhere = async (): Promise<RefreshResult | undefined> => {
    const cur = await store.findToken(name);
    if (!cur) throw new AppError('NO_TOKEN', name);
    if (cur.generation !== start.generation) return { outcome: 'refreshed-elsewhere', record: cur };
    if (cur.deadReason !== undefined) throw deadError(cur);
    // The holder failed while we waited: report its failure rather than hammer ANAF again.
    if (cur.lastFailureAt !== undefined && cur.lastFailureAt >= waitStartedAt && !(await leaseActive(store, name))) {
      throw storedError(cur.lastError ?? '');
    }
    return undefined;
  };

  return withLease(
    deps,
    name,
    async () => {
      const done = await elsewhere();
      if (done) return done;
      const cur = (await store.findToken(name))!;
      // Both open only for the server, client ID and callback URL they were saved with: the
      // profile read here is the one they are sent to (else PROFILE_ALTERED, and nothing is sent).
      const tokens = (await store.readTokens(profile))!;
      if (!tokens.refreshToken) {
        await store.markDead(name, 'no refresh token');
        throw new AppError('TOKEN_DEAD', 'no refresh token');
      }
      if (cur.refreshExpiresAt !== undefined && cur.refreshExpiresAt <= now()) {
        await store.markDead(name, 'the refresh token has expired');
        throw new AppError('TOKEN_DEAD', 'the refresh token has expired');
      }
      const secret = await store.clientSecret(profile);
      try {
        const set = await refreshTokens(profile, secret, tokens.refreshToken, cur, { now, ...deps.client, clientAuth: await clientAuthOf(store, name) });
        const record = await store.saveTokens(profile, set, { kind: 'refresh', certificate: certificateFromClaims(set.accessToken), basedOn: cur.generation });
        log.log('info', 'refresh.done', { profile: name, generation: record.generation });
        return { outcome: 'refreshed' as const, record };
      } catch (e) {
        const err = AppError.from(e);
        if (err.code === 'TOKEN_DEAD') await store.markDead(name, `${err.detail ?? 'invalid_grant'}`);
        else await store.recordFailure(name, `${err.code}: ${err.detail ?? ''}`);
        log.log('warn', 'refresh.failed', { profile: name, code: err.code, detail: err.detail });
        throw err;
      }
    },
    elsewhere,
    opts.skipBusy ? { outcome: 'busy', record: start } : undefined,
  );
}

/** 'refreshed-elsewhere': another process stored a new pair while this one waited for its lease. */
export type DueOutcome = 'refreshed' | 'refreshed-elsewhere' | 'not-due' | 'waiting' | 'busy' | 'failed' | 'dead';

/** How a caller runs the due refreshes: the token service adds its backoff and single-flight. */
export interface DuePolicy {
  /** Every profile found due, before any is refreshed. */
  found?: (names: string[]) => void;
  /** A profile waiting for its retry: not tried now. */
  waiting?: (name: string) => boolean;
  refresh?: (name: string) => Promise<RefreshResult>;
}

/**
 * What the daily alarm, \`refresh.due\` and the token service's loop run: refresh every token that
 * is due, one after the other. A failure is reported with its profile and ends nothing else.
 */
export async function refreshDue(deps: TokenDeps, policy: DuePolicy = {}): Promise<{ profile: string; outcome: DueOutcome; error?: AppError }[]> {
  const due = await deps.store.dueForRefresh((deps.now ?? Date.now)());
  policy.found?.(due);
  const refresh = policy.refresh ?? ((n: string) => refreshProfile(deps, n));
  const outcomes: { profile: string; outcome: DueOutcome; error?: AppError }[] = [];
  for (const profile of due) {
    if (policy.waiting?.(profile)) {
      outcomes.push({ profile, outcome: 'waiting' });
      continue;
    }
    try {
      const r = await refresh(profile);
      outcomes.push({ profile, outcome: r.outcome });
    } catch (e) {
      const error = AppError.from(e);
      outcomes.push({ profile, outcome: error.code === 'TOKEN_DEAD' ? 'dead' : 'failed', error });
    }
  }
  return outcomes;
}
