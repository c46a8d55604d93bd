/** Status of every profile in one read of the store. */
import type { TokenStatus } from '#shared/schemas/token-status.js';
import type { Store } from '../store/store.js';
import { tokenStatus } from './status.js';

export async function allStatuses(store: Store, now: number): Promise<TokenStatus[]> {
  const tokens = await store.allTokens();
  return (await store.listProfiles()).map((p) => tokenStatus(p, tokens.get(p.name), now));
}

export async function statusOf(store: Store, name: string, now: number): Promise<TokenStatus> {
  const profile = await store.getProfile(name);
  return tokenStatus(profile, await store.findToken(name), now);
}
