/**
 * Where the token service gets tokens: the vault, read afresh on every call (the extension's
 * host and the CLI write it too), with in-process single-flight refreshes on top of the
 * cross-process lease, and a per-profile backoff shared by ERP requests and the background loop.
 */
import { AppError, type ErrorCode } from '../../../shared/src/errors.js';
import { isDue, refreshProfile, type RefreshResult, type TokenDeps } from '../tokens/refresh.js';
import { tokenState } from '../tokens/status.js';
import type { TokenRecord } from '../vault/vault.js';
import type { Backoff } from './backoff.js';
import { SingleFlight } from './single-flight.js';

export interface TokenGrant {
  profile: string;
  accessToken: string;
  expiresAt: number;
}

export interface TokenSourceOptions {
  backoff: Backoff;
  /** An access token closer than this to its end is not handed out. */
  minUsefulMs?: number;
  /** A forced refresh (POST …/refresh) right after another one returns the fresh token instead of asking ANAF again. */
  minRefreshIntervalMs?: number;
}

export type DueOutcome = 'refreshed' | 'not-due' | 'waiting' | 'failed' | 'dead';

/** A token handed out without a look at the vault is at most this old. */
const HOT_MS = 1_000;

/** Errors that a retry cannot fix: no backoff, and no stale token to fall back to. */
const FINAL: ReadonlySet<ErrorCode> = new Set(['TOKEN_DEAD', 'NO_TOKEN', 'PROFILE_NOT_FOUND']);

export class TokenSource {
  private readonly flights = new SingleFlight<RefreshResult>();
  /** Tokens that needed no refresh, by profile, while the vault stays as it was when they were read. */
  private readonly hot = new Map<string, { epoch: number; until: number; grant: TokenGrant }>();
  private readonly backoff: Backoff;
  private readonly minUsefulMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly deps: TokenDeps,
    opts: TokenSourceOptions,
  ) {
    this.backoff = opts.backoff;
    this.minUsefulMs = opts.minUsefulMs ?? 60_000;
    this.minRefreshIntervalMs = opts.minRefreshIntervalMs ?? 60_000;
    this.now = deps.now ?? Date.now;
  }

  /**
   * The ERP's hot path, without an await: the token `token()` last handed out for this profile,
   * when nothing in the vault changed since (no refresh, revoke or edit by anyone), it was not due
   * for refresh, and it is under a second old. Undefined means: ask `token()`.
   */
  hotToken(name: string): TokenGrant | undefined {
    const hit = this.hot.get(name);
    if (hit === undefined) return undefined;
    if (hit.epoch === this.deps.vault.readEpoch() && this.now() < hit.until) return hit.grant;
    this.hot.delete(name);
    return undefined;
  }

  /** A usable access token: refreshed first when due (unless ANAF is in backoff), else the stored one while it lasts. */
  async token(name: string): Promise<TokenGrant> {
    const epoch = this.deps.vault.readEpoch();
    const rec = this.liveRecord(name);
    if (!isDue(this.deps, name, rec)) {
      const grant = this.current(name, undefined);
      // Kept for HOT_MS at most, and never closer to the token's end than minUsefulMs.
      const until = Math.min(this.now() + HOT_MS, grant.expiresAt - this.minUsefulMs);
      if (this.deps.vault.readEpoch() === epoch) this.hot.set(name, { epoch, until, grant });
      return grant;
    }
    let failure: AppError | undefined;
    const wait = this.backoff.waiting(name);
    // While waiting for the retry, say nothing: the backoff line already did, and an ERP may ask every second.
    if (wait) failure = new AppError(wait.code, wait.detail);
    else {
      try {
        await this.refresh(name, false);
      } catch (e) {
        if (!(e instanceof AppError) || FINAL.has(e.code)) throw e;
        failure = e;
        this.deps.log.log('warn', 'serve.token-stale', { profile: name, code: e.code });
      }
    }
    return this.current(name, failure);
  }

  /** Refreshes now, unless that just happened (by anyone); then hands out the token. */
  async refreshNow(name: string): Promise<TokenGrant> {
    const rec = this.liveRecord(name);
    const last = rec.lastRefreshAt ?? rec.authorizedAt;
    if (this.now() - last >= this.minRefreshIntervalMs) {
      const wait = this.backoff.waiting(name);
      if (wait) throw new AppError(wait.code, wait.detail);
      await this.refresh(name, true);
    }
    return this.current(name, undefined);
  }

  /** The background loop's step: refresh what is due and not waiting for a retry. */
  async refreshDue(): Promise<Map<string, DueOutcome>> {
    const due = this.deps.vault.dueForRefresh(this.now());
    // A profile refreshed by another process (or removed) no longer waits for our retry.
    this.backoff.forgetExcept(due);
    const outcomes = new Map<string, DueOutcome>();
    for (const name of due) {
      if (this.backoff.waiting(name)) {
        outcomes.set(name, 'waiting');
        continue;
      }
      try {
        const r = await this.refresh(name, false);
        outcomes.set(name, r.outcome === 'not-due' ? 'not-due' : 'refreshed');
      } catch (e) {
        outcomes.set(name, e instanceof AppError && e.code === 'TOKEN_DEAD' ? 'dead' : 'failed');
      }
    }
    return outcomes;
  }

  /** Seconds until the profile's next refresh attempt, for Retry-After. */
  retryAfterSeconds(name: string): number | undefined {
    const wait = this.backoff.waiting(name);
    return wait ? Math.max(1, Math.ceil(wait.retryInMs / 1000)) : undefined;
  }

  idle(): Promise<void> {
    return this.flights.idle();
  }

  private refresh(name: string, force: boolean): Promise<RefreshResult> {
    return this.flights.run(name, async () => {
      try {
        const r = await refreshProfile(this.deps, name, { force });
        this.backoff.succeed(name);
        return r;
      } catch (e) {
        const err = e instanceof AppError ? e : new AppError('INTERNAL', e instanceof Error ? e.name : undefined);
        if (!FINAL.has(err.code)) {
          const next = this.backoff.fail(name, err.code, err.detail);
          this.deps.log.log('warn', 'serve.refresh-backoff', {
            profile: name,
            code: err.code,
            failures: this.backoff.failures(name),
            retryAt: new Date(next).toISOString(),
          });
        }
        throw err;
      }
    });
  }

  /** The profile's token record, or the error that says why there is no usable one. */
  private liveRecord(name: string): TokenRecord {
    const { vault } = this.deps;
    const profile = vault.getProfile(name);
    const rec = vault.findToken(name);
    if (!rec) throw new AppError('NO_TOKEN', name);
    if (rec.deadReason !== undefined) throw new AppError('TOKEN_DEAD', rec.deadReason);
    if (tokenState(profile, rec, this.now()) === 'dead') throw new AppError('TOKEN_DEAD', 'the refresh token has expired');
    return rec;
  }

  /** The stored token, read so that its expiry and value belong to the same generation. */
  private current(name: string, failure: AppError | undefined): TokenGrant {
    const { vault } = this.deps;
    for (let attempt = 0; attempt < 3; attempt++) {
      const rec = this.liveRecord(name);
      if (rec.accessExpiresAt - this.now() < this.minUsefulMs) {
        throw new AppError('TOKEN_EXPIRED', failure ? `${failure.code}${failure.detail ? `: ${failure.detail}` : ''}` : undefined);
      }
      const t = vault.readTokens(name);
      if (!t) throw new AppError('NO_TOKEN', name);
      if (t.generation === rec.generation) return { profile: name, accessToken: t.accessToken, expiresAt: rec.accessExpiresAt };
    }
    // Another process kept rotating the token between our two reads.
    throw new AppError('REFRESH_BUSY');
  }
}
