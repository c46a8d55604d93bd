/**
 * Pending authorizations (a state opens at most one exchange; kept by its hash) and the leases
 * that let one process at a time refresh a grant (a holder killed mid-refresh is taken over at once).
 */
import { hashState } from '../store/records.js';
import type { VaultCore } from './core.js';
import { leaseOwnerGone } from './lease-owner.js';

export function addPendingAuthorization(v: VaultCore, state: string, profile: string, ttlMs: number): number {
  const now = v.now();
  const expiresAt = now + ttlMs;
  v.sql('DELETE FROM pending_authorizations WHERE expires_at < ?').run(now);
  v.sql('INSERT INTO pending_authorizations (state_hash, profile, created_at, expires_at) VALUES (?, ?, ?, ?)').run(hashState(state), profile, now, expiresAt);
  return expiresAt;
}

/** Consumes a pending authorization: a state opens at most one exchange. */
export function takePendingAuthorization(v: VaultCore, state: string, profile: string): boolean {
  const r = v
    .sql('DELETE FROM pending_authorizations WHERE state_hash = ? AND profile = ? AND expires_at >= ? RETURNING state_hash')
    .get(hashState(state), profile, v.now());
  return r !== undefined;
}

/** For an answer without `state`: the single pending authorization of the profile started since `since`. */
export function takeOnlyRecentPending(v: VaultCore, profile: string, since: number): boolean {
  const tx = () => {
    const rows = v
      .sql('SELECT state_hash FROM pending_authorizations WHERE profile = ? AND created_at >= ? AND expires_at >= ?')
      .all(profile, since, v.now()) as { state_hash: string }[];
    if (rows.length !== 1) return false;
    v.sql('DELETE FROM pending_authorizations WHERE state_hash = ?').run(rows[0]!.state_hash);
    return true;
  };
  return v.transaction(tx);
}

export function tryAcquireLease(v: VaultCore, name: string, owner: string, ttlMs: number): boolean {
  const tx = () => {
    const now = v.now();
    const cur = v.sql('SELECT owner, expires_at FROM leases WHERE name = ?').get(name) as { owner: string; expires_at: number } | undefined;
    if (cur && cur.owner !== owner && cur.expires_at > now && !leaseOwnerGone(cur.owner)) return false;
    v.sql('INSERT OR REPLACE INTO leases (name, owner, expires_at) VALUES (?, ?, ?)').run(name, owner, now + ttlMs);
    return true;
  };
  return v.transaction(tx);
}

export function releaseLease(v: VaultCore, name: string, owner: string): void {
  v.sql('DELETE FROM leases WHERE name = ? AND owner = ?').run(name, owner);
}

export function leaseActive(v: VaultCore, name: string): boolean {
  const cur = v.sql('SELECT owner FROM leases WHERE name = ? AND expires_at > ?').get(name, v.now()) as { owner: string } | undefined;
  return cur !== undefined && !leaseOwnerGone(cur.owner);
}
