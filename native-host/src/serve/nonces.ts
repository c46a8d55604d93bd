/**
 * The nonces `GET /v1/challenge` hands out: 32 random bytes, valid for ten minutes, kept only in
 * this process's memory (a restarted `serve` knows none of the old ones, so nothing captured
 * before a restart proves anything after it).
 *
 * Anyone on the machine may ask for nonces, so their number is bounded: past `maxFresh`, the
 * oldest unused one is forgotten. A nonce over which a valid proof was made moves to a table of
 * its own, which only holders of a client key can fill, so a flood of challenges cannot make a
 * working ERP fetch a new nonce more than once.
 */
import crypto from 'node:crypto';

export interface NonceStoreOptions {
  ttlMs?: number;
  maxFresh?: number;
  maxInUse?: number;
  now?: () => number;
}

export class NonceStore {
  readonly ttlMs: number;
  private readonly maxFresh: number;
  private readonly maxInUse: number;
  private readonly now: () => number;
  /** Nonce → when it expires, in the order issued (so also in the order of expiry). */
  private readonly fresh = new Map<string, number>();
  /** Nonces with at least one valid proof, in the order first used. */
  private readonly inUse = new Map<string, number>();

  constructor(o: NonceStoreOptions = {}) {
    this.ttlMs = o.ttlMs ?? 600_000;
    this.maxFresh = o.maxFresh ?? 4096;
    this.maxInUse = o.maxInUse ?? 4096;
    this.now = o.now ?? Date.now;
  }

  issue(): { nonce: string; expiresAt: number } {
    const now = this.now();
    prune(this.fresh, now, this.maxFresh - 1);
    const nonce = crypto.randomBytes(32).toString('base64url');
    const expiresAt = now + this.ttlMs;
    this.fresh.set(nonce, expiresAt);
    return { nonce, expiresAt };
  }

  /** When the nonce expires, if this process issued it and it is still valid. */
  expiresAt(nonce: string): number | undefined {
    const now = this.now();
    for (const table of [this.inUse, this.fresh]) {
      const at = table.get(nonce);
      if (at === undefined) continue;
      if (at > now) return at;
      table.delete(nonce);
    }
    return undefined;
  }

  /** A valid proof was made over it: keep it for the rest of its life, out of reach of new challenges. */
  used(nonce: string): void {
    const at = this.fresh.get(nonce);
    if (at === undefined) return;
    this.fresh.delete(nonce);
    prune(this.inUse, this.now(), this.maxInUse - 1);
    this.inUse.set(nonce, at);
  }

  get size(): { fresh: number; inUse: number } {
    return { fresh: this.fresh.size, inUse: this.inUse.size };
  }
}

/** Drops expired entries from the front, then the oldest until at most `keep` remain. */
function prune(table: Map<string, number>, now: number, keep: number): void {
  for (const [nonce, at] of table) {
    if (at > now && table.size <= keep) break;
    table.delete(nonce);
  }
}
