/**
 * How refused proofs are slowed down. A request with a valid proof is always served at once:
 * nothing here is looked at before the proof is checked, and nothing blocks an address (on a
 * terminal server every user shares 127.0.0.1, and one user's bad requests must not lock out
 * another's ERP). Instead each refusal of a wrong proof is answered later, the more so the more
 * that client name failed lately: a few at once, then 100 ms doubling up to a second.
 *
 * Memory stays bounded: failures are kept per client name of the store, and every unknown name
 * shares one entry; at most `maxWaiting` refusals wait at a time, and the connections beyond
 * that are closed without an answer.
 */
export interface FailureDelayOptions {
  /** Failures answered at once, within `forgetMs` of each other. */
  freeFailures?: number;
  baseMs?: number;
  maxMs?: number;
  /** A client name that did not fail for this long starts again from nothing. */
  forgetMs?: number;
  maxWaiting?: number;
  maxKeys?: number;
  now?: () => number;
}

/** The key all client names unknown to the store share. */
export const UNKNOWN_CLIENT = '?';

export class FailureDelay {
  private readonly freeFailures: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly forgetMs: number;
  private readonly maxWaiting: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly byKey = new Map<string, { failures: number; lastAt: number }>();
  private waitingNow = 0;

  constructor(o: FailureDelayOptions = {}) {
    this.freeFailures = o.freeFailures ?? 3;
    this.baseMs = o.baseMs ?? 100;
    this.maxMs = o.maxMs ?? 1_000;
    this.forgetMs = o.forgetMs ?? 60_000;
    this.maxWaiting = o.maxWaiting ?? 256;
    this.maxKeys = o.maxKeys ?? 1024;
    this.now = o.now ?? Date.now;
  }

  /**
   * Records a failure of this client name; returns how long to hold back its refusal, or
   * undefined when too many refusals already wait (close the connection instead).
   */
  fail(key: string): number | undefined {
    const now = this.now();
    let s = this.byKey.get(key);
    if (s === undefined || now - s.lastAt >= this.forgetMs) {
      this.byKey.delete(key);
      if (this.byKey.size >= this.maxKeys) this.byKey.delete(this.byKey.keys().next().value!);
      s = { failures: 0, lastAt: now };
      this.byKey.set(key, s);
    }
    s.failures++;
    s.lastAt = now;
    const over = s.failures - this.freeFailures;
    if (over <= 0) return 0;
    if (this.waitingNow >= this.maxWaiting) return undefined;
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(over - 1, 20));
  }

  /** Resolves with `value` after `ms`, counted among the waiting refusals meanwhile. */
  hold<T>(ms: number, value: T): Promise<T> {
    this.waitingNow++;
    return new Promise((resolve) =>
      setTimeout(() => {
        this.waitingNow--;
        resolve(value);
      }, ms),
    );
  }

  get waiting(): number {
    return this.waitingNow;
  }
}
