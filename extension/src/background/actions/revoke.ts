/**
 * Forget the tokens here, after one try at ANAF's revoke endpoint (ANAF may not confirm: it
 * offers no revocation without a browser login). The profile stays, ready for a new authorization.
 */
import type { RevokeResult } from '#shared/protocol/results.js';
import { host } from '../native/host-port.js';
import { refetchQuietly, remember } from './status.js';

export async function revokeTokens(profile: string): Promise<RevokeResult> {
  try {
    const r = await host.request({ type: 'token.revoke', profile });
    await remember(r.status);
    return r;
  } catch (e) {
    await refetchQuietly();
    throw e;
  }
}
