/**
 * The access token a gateway call carries, and ANAF's 401/403 rule (efactura/authorized.ts):
 * the token is checked and refreshed once, the call made once more. `grant` is how the caller
 * hands tokens out (serve: its TokenSource, with single-flight refreshes; the CLI:
 * validAccessToken); the forced refresh goes through the same store lease as any refresh.
 */
import type { TokenSource } from '../efactura/index.js';
import type { TokenDeps } from '../tokens/deps.js';
import type { TokenGrant } from '../tokens/grant.js';
import { refreshProfile } from '../tokens/refresh.js';

export type Grant = (profile: string) => Promise<TokenGrant>;

/** How long a handed-out token is reused by the worker without reading the store again. */
const REUSE_MS = 5_000;

/** `grant` with a few seconds' memory per profile: a busy worker does not read and decrypt the token per batch. */
export function reusedGrant(grant: Grant, now: () => number = Date.now): Grant {
  const kept = new Map<string, { at: number; g: Promise<TokenGrant> }>();
  return (profile) => {
    const t = now();
    const k = kept.get(profile);
    if (k && t - k.at < REUSE_MS) return k.g;
    const g = grant(profile);
    kept.set(profile, { at: t, g });
    // A failure is not kept; a token closer than a minute to its end is read afresh next time.
    g.then(
      (x) => x.expiresAt - t < 60_000 && kept.delete(profile),
      () => kept.delete(profile),
    );
    return g;
  };
}

/** `grant` may answer from a short cache; `fresh` reads the store (after a refusal). */
export function profileTokens(deps: TokenDeps, grant: Grant, profile: string, fresh: Grant = grant): TokenSource {
  let cached: Promise<TokenGrant> | undefined;
  return {
    async current() {
      cached ??= grant(profile);
      try {
        return (await cached).accessToken;
      } catch (e) {
        cached = undefined;
        throw e;
      }
    },
    async refreshed(refused: string) {
      cached = undefined;
      // Another process may have refreshed it already: then that token is the one to try.
      const now = await fresh(profile);
      if (now.accessToken !== refused) return now.accessToken;
      await refreshProfile(deps, profile, { force: true });
      return (await fresh(profile)).accessToken;
    },
  };
}
