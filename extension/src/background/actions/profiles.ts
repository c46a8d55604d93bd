/**
 * Profiles are kept by the host only: the form's client secret goes from the options page
 * through this worker's memory straight to the host, never into extension storage.
 */
import type { TokenStatus } from '#shared/schemas/token-status.js';
import type { ProfileForm } from '../../shared/ui-protocol.js';
import { host } from '../native/host-port.js';
import { cancelFlow } from './obtain-token.js';
import { forget, remember } from './status.js';

export async function saveProfile(form: ProfileForm): Promise<TokenStatus> {
  const { clientSecret, refreshWindowDays, ...rest } = form;
  return remember(
    await host.request({
      type: 'profile.save',
      ...rest,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      ...(refreshWindowDays === undefined ? {} : { refreshWindowDays }),
    }),
  );
}

export async function removeProfile(profile: string): Promise<{ removed: boolean }> {
  await cancelFlow(profile);
  const r = await host.request({ type: 'profile.remove', profile });
  await forget(profile);
  return r;
}
