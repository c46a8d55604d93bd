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

export function profileTokens(deps: TokenDeps, grant: Grant, profile: string): TokenSource {
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
      const now = await grant(profile);
      if (now.accessToken !== refused) return now.accessToken;
      await refreshProfile(deps, profile, { force: true });
      return (await grant(profile)).accessToken;
    },
  };
}
