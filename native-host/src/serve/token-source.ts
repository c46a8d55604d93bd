/**
 * Where the token service gets tokens: the store, asked on every call (the extension's host,
 * the CLI and other machines write it too; its read cache follows their commits), with
 * in-process single-flight refreshes on top of the cross-process lease, and a per-profile
 * backoff shared by ERP requests and the background loop.
 */
import { AppError } from '#shared/errors.js';
import type { TokenDeps } from '../tokens/deps.js';
import { MIN_USEFUL_MS, isFinal, validAccessToken, type TokenGrant } from '../tokens/grant.js';
import { refreshDue, refreshProfile, type DueOutcome, type RefreshOptions, type RefreshResult } from '../tokens/refresh.js';
import type { Backoff } from './backoff.js';
import { SingleFlight } from './single-flight.js';

export type { TokenGrant };

export interface TokenSourceOptions {
  backoff: Backoff;
  /** An access token closer than this to its end is not handed out. */
  minUsefulMs?: number;
}

export type { DueOutcome };

export class TokenSource {
  private readonly flights = new SingleFlight<RefreshResult>();
  private readonly backoff: Backoff;
  private readonly minUsefulMs: number;

  constructor(
    private readonly deps: TokenDeps,
    opts: TokenSourceOptions,
  ) {
    this.backoff = opts.backoff;
    this.minUsefulMs = opts.minUsefulMs ?? MIN_USEFUL_MS;
  }

  /** validAccessToken's rule, with this service's single-flight refresh and retry backoff. */
  token(name: string): Promise<TokenGrant> {
    return validAccessToken(this.deps, name, {
      refresh: (n) => this.refresh(n),
      // While waiting for the retry, say nothing: the backoff line already did, and an ERP may ask every second.
      heldBack: (n) => {
        const wait = this.backoff.waiting(n);
        return wait && new AppError(wait.code, wait.detail);
      },
      minUsefulMs: this.minUsefulMs,
    });
  }

  /**
   * The background loop's step: refresh what is due and not waiting for a retry. A grant another
   * process (or machine) is refreshing now is skipped, not waited for: with several services on
   * one store, each due grant is refreshed by whichever takes its lease first.
   */
  async refreshDue(): Promise<Map<string, DueOutcome>> {
    const outcomes = await refreshDue(this.deps, {
      // A profile refreshed by another process (or removed) no longer waits for our retry.
      found: (due) => this.backoff.forgetExcept(due),
      waiting: (name) => this.backoff.waiting(name) !== undefined,
      refresh: (name) => this.refresh(name, { skipBusy: true }),
    });
    return new Map(outcomes.map((o) => [o.profile, o.outcome]));
  }

  /** Seconds until the profile's next refresh attempt, for Retry-After. */
  retryAfterSeconds(name: string): number | undefined {
    const wait = this.backoff.waiting(name);
    return wait ? Math.max(1, Math.ceil(wait.retryInMs / 1000)) : undefined;
  }

  idle(): Promise<void> {
    return this.flights.idle();
  }

  private refresh(name: string, opts: RefreshOptions = {}): Promise<RefreshResult> {
    return this.flights.run(name, async () => {
      try {
        const r = await refreshProfile(this.deps, name, opts);
        if (r.outcome !== 'busy') this.backoff.succeed(name);
        return r;
      } catch (e) {
        const err = AppError.from(e);
        if (!isFinal(err.code)) {
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
}
