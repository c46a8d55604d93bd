/** Revoke at ANAF and forget the tokens; the profile stays, ready for a new authorization. */
import type { TokenStatus } from '../../../../shared/src/schemas/token-status.js';
import { host } from '../native/host-port.js';
import { refetchQuietly, remember } from './status.js';

export async function revokeTokens(profile: string): Promise<TokenStatus> {
  try {
    return await remember(await host.request({ type: 'token.revoke', profile }));
  } catch (e) {
    await refetchQuietly();
    throw e;
  }
}
