/** "Refresh now": the host refreshes with the stored refresh token (no USB key needed). */
import type { TokenStatus } from '#shared/schemas/token-status.js';
import { host } from '../native/host-port.js';
import { refetchQuietly, remember } from './status.js';

export async function refreshNow(profile: string): Promise<TokenStatus> {
  try {
    return await remember(await host.request({ type: 'token.refresh', profile, force: true }));
  } catch (e) {
    await refetchQuietly();
    throw e;
  }
}
