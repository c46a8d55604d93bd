/** "Check": the host asks ANAF's TestOauth hello whether the stored access token works now. Nothing is stored. */
import type { TokenCheck } from '#shared/schemas/token-check.js';
import { host } from '../native/host-port.js';
import { refetchQuietly } from './status.js';

export async function checkToken(profile: string): Promise<TokenCheck> {
  try {
    return await host.request({ type: 'token.check', profile });
  } catch (e) {
    // NO_TOKEN or PROFILE_NOT_FOUND: what the popup shows may be out of date.
    await refetchQuietly();
    throw e;
  }
}
