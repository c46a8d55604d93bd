/**
 * Failed-key limiter per remote address: after `maxFailures` wrong keys within `windowMs`, the
 * address is refused for `blockMs` before its key is even looked at, so guessing keys is slow.
 */
export interface FailureLimiterOptions {
  maxFailures?: number;
  windowMs?: number;
  blockMs?: number;
  now?: () => number;
}

export class FailureLimiter {
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly blockMs: number;
  private readonly now: () => number;
  private readonly failures = new Map<string, number[]>();
  private readonly blockedUntil = new Map<string, number>();

  constructor(opts: FailureLimiterOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.blockMs = opts.blockMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Milliseconds the address must still wait, or 0. */
  blockedFor(address: string): number {
    const until = this.blockedUntil.get(address);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left > 0) return left;
    this.blockedUntil.delete(address);
    return 0;
  }

  /** Records a failure; true when this one starts a block. */
  fail(address: string): boolean {
    const now = this.now();
    const recent = (this.failures.get(address) ?? []).filter((t) => now - t < this.windowMs);
    recent.push(now);
    if (recent.length >= this.maxFailures) {
      this.failures.delete(address);
      this.blockedUntil.set(address, now + this.blockMs);
      return true;
    }
    this.failures.set(address, recent);
    this.prune(now);
    return false;
  }

  /** Keeps the maps small when many addresses fail once (loopback has many IPv4 addresses). */
  private prune(now: number): void {
    if (this.failures.size < 1000) return;
    for (const [a, ts] of this.failures) if (ts.every((t) => now - t >= this.windowMs)) this.failures.delete(a);
  }
}
