/**
 * Token statuses: read from the host (the source of truth), then cached for the popup, with
 * the badge brought up to date. Open pages learn of a change through STATUS_STAMP_KEY.
 */
import browser from 'webextension-polyfill';
import type { TokenStatus } from '../../../../shared/src/schemas/token-status.js';
import { STATUS_STAMP_KEY } from '../../shared/flow-state.js';
import { deleteStatus, readCachedStatuses, writeAllStatuses, writeStatus } from '../../shared/status-cache.js';
import { updateBadge } from '../attention.js';
import { host } from '../native/host-port.js';

async function changed(): Promise<void> {
  await browser.storage.session.set({ [STATUS_STAMP_KEY]: Date.now() });
}

export async function fetchStatuses(): Promise<TokenStatus[]> {
  const { profiles } = await host.request({ type: 'status' });
  await writeAllStatuses(profiles);
  await updateBadge(profiles);
  await changed();
  return profiles;
}

/** One profile's status as the host just answered it. */
export async function remember(status: TokenStatus): Promise<TokenStatus> {
  await writeStatus(status);
  await updateBadge((await readCachedStatuses()).profiles);
  await changed();
  return status;
}

export async function forget(name: string): Promise<void> {
  await deleteStatus(name);
  await updateBadge((await readCachedStatuses()).profiles);
  await changed();
}

/** After a failed token call the host may have recorded the failure: show what it knows now. */
export async function refetchQuietly(): Promise<void> {
  try {
    await fetchStatuses();
  } catch {
    // The original failure is what the user needs to see.
  }
}
