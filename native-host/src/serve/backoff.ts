/**
 * Per-profile exponential backoff after a failed refresh: while ANAF is failing, neither the
 * background loop nor ERP requests ask it again before the next attempt is due.
 */
import type { ErrorCode } from '#shared/errors.js';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  now?: () => number;
}

interface State {
  failures: number;
  nextAttemptAt: number;
  code: ErrorCode;
  detail: string | undefined;
}

export class Backoff {
  private readonly states = new Map<string, State>();
  private readonly now: () => number;

  constructor(private readonly opts: BackoffOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Records a failure and returns when the next attempt may be made. */
  fail(key: string, code: ErrorCode, detail?: string): number {
    const failures = (this.states.get(key)?.failures ?? 0) + 1;
    const delay = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(failures - 1, 30));
    const nextAttemptAt = this.now() + delay;
    this.states.set(key, { failures, nextAttemptAt, code, detail });
    return nextAttemptAt;
  }

  succeed(key: string): void {
    this.states.delete(key);
  }

  /** The failure that keeps the key waiting, with the time left; undefined when it may try now. */
  waiting(key: string): { code: ErrorCode; detail: string | undefined; retryInMs: number } | undefined {
    const s = this.states.get(key);
    if (!s) return undefined;
    const retryInMs = s.nextAttemptAt - this.now();
    return retryInMs > 0 ? { code: s.code, detail: s.detail, retryInMs } : undefined;
  }

  /** The earliest retry time still ahead, to wake the background loop for it. */
  nextAttemptAfter(now = this.now()): number | undefined {
    let min: number | undefined;
    for (const s of this.states.values()) if (s.nextAttemptAt > now && (min === undefined || s.nextAttemptAt < min)) min = s.nextAttemptAt;
    return min;
  }

  /** Drops the keys not listed (refreshed elsewhere, removed): their old failures no longer apply. */
  forgetExcept(keys: readonly string[]): void {
    const keep = new Set(keys);
    for (const k of [...this.states.keys()]) if (!keep.has(k)) this.states.delete(k);
  }

  failures(key: string): number {
    return this.states.get(key)?.failures ?? 0;
  }
}
