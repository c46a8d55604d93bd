/** Ending a grant: one try at ANAF's revoke endpoint, then the tokens are forgotten here. */
import { AppError } from '#shared/errors.js';
import { clientAuthOf, revokeToken } from '../oauth/anaf-client.js';
import type { TokenDeps } from './deps.js';
import { withLease } from './lease.js';

/** What a revocation did: the tokens are always forgotten here; ANAF may or may not have confirmed. */
export interface RevokeOutcome {
  anafConfirmed: boolean;
  /** ANAF's answer when it did not confirm (safe to show). */
  anafDetail?: string;
}

/**
 * Ends the grant as far as this machine can: one try at ANAF's revoke endpoint (the refresh
 * token first: it ends the grant; the access token only after ANAF confirmed that), then the
 * tokens are forgotten whatever ANAF answered. ANAF has been seen answering with a redirect to
 * its login wall, so the real remedy is in its portal (see the REVOKE_UNCONFIRMED advice).
 * Holds the lease so that no refresh stores a fresh pair after the revocation.
 */
export async function revokeProfile(deps: TokenDeps, name: string): Promise<RevokeOutcome> {
  const { store, log } = deps;
  const profile = await store.getProfile(name);
  return withLease(
    deps,
    name,
    async () => {
      const tokens = await store.readTokens(profile);
      if (!tokens) throw new AppError('NO_TOKEN', name);
      const rec = (await store.findToken(name))!;
      const secret = await store.clientSecret(profile);
      const opts = { ...deps.client, clientAuth: await clientAuthOf(store, name) };
      let answer =
        tokens.refreshToken && rec.deadReason === undefined ? await revokeToken(profile, secret, tokens.refreshToken, 'refresh_token', opts) : undefined;
      if (answer === undefined || answer.confirmed) answer = await revokeToken(profile, secret, tokens.accessToken, 'access_token', opts);
      await store.deleteTokens(name);
      log.log(answer.confirmed ? 'info' : 'warn', 'revoke.done', { profile: name, anafConfirmed: answer.confirmed, detail: answer.detail });
      return answer.confirmed ? { anafConfirmed: true } : { anafConfirmed: false, ...(answer.detail ? { anafDetail: answer.detail } : {}) };
    },
    async () => undefined,
  );
}
