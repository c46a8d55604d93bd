/**
 * One refresh per grant across processes (and, with the team store, machines). ANAF rotates the
 * refresh token on every use, so two refreshing with the same one would kill the grant: a lease
 * in the store lets one refresh while the others wait and then read what it stored.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '#shared/errors.js';
import { newLeaseOwner } from '../vault/lease-owner.js';
import type { TokenDeps } from './deps.js';

/**
 * A lease outlives the longest refresh (two client-authentication tries of up to 60 s each): a
 * holder that dies is taken over at once anyway (its process or its database session is gone).
 */
const DEFAULTS = { leaseTtlMs: 150_000, waitTimeoutMs: 60_000, pollMs: 50 };

export const leaseName = (profile: string): string => `refresh:${profile}`;

/**
 * Runs `fn` holding the profile's lease. While another process holds it, waits; `settled`
 * is asked after each wait whether that process already did the work, and its answer ends the
 * wait. With `busy`, does not wait at all: another process holding the lease answers `busy`.
 */
export async function withLease<T>(deps: TokenDeps, profile: string, fn: () => Promise<T>, settled: () => Promise<T | undefined>, busy?: T): Promise<T> {
  const { leaseTtlMs, waitTimeoutMs, pollMs } = { ...DEFAULTS, ...deps };
  const owner = newLeaseOwner();
  const deadline = Date.now() + waitTimeoutMs;
  for (;;) {
    if (await deps.store.tryAcquireLease(leaseName(profile), owner, leaseTtlMs)) {
      try {
        return await fn();
      } finally {
        await deps.store.releaseLease(leaseName(profile), owner);
      }
    }
    if (busy !== undefined) return busy;
    await sleep(pollMs);
    const done = await settled();
    if (done !== undefined) return done;
    if (Date.now() > deadline) throw new AppError('REFRESH_BUSY');
  }
}

/** Another process is refreshing this profile now. */
export async function leaseActive(store: TokenDeps['store'], profile: string): Promise<boolean> {
  return store.leaseActive(leaseName(profile));
}
