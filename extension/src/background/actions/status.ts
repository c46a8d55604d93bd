/**
 * Token statuses: read from the host (the source of truth), then cached for the popup, with
 * the badge brought up to date. Open pages learn of a change through STATUS_STAMP_KEY.
 * A full listing is answered first and written after (in order, through one queue): the page
 * that asked already has it, and the writes would double its round trip. Unchanged statuses
 * only renew the cache's time, and wake no page.
 */
import browser from 'webextension-polyfill';
import type { TokenStatus } from '#shared/schemas/token-status.js';
import { STATUS_STAMP_KEY } from '../../shared/flow-state.js';
import { deleteStatus, readCachedStatuses, touchStatuses, writeAllStatuses, writeStatus } from '../../shared/status-cache.js';
import { updateBadge } from '../attention.js';
import { host } from '../native/host-port.js';

async function changed(): Promise<void> {
  await browser.storage.session.set({ [STATUS_STAMP_KEY]: Date.now() });
}

let writes: Promise<unknown> = Promise.resolve();
/** The last full listing written by this worker, to tell an unchanged one. */
let lastListing: string | undefined;
let lastWritten = 0;
const TOUCH_EVERY_MS = 10_000;

function queued<T>(fn: () => Promise<T>): Promise<T> {
  const run = writes.then(fn, fn);
  writes = run.catch(() => undefined);
  return run;
}

export async function fetchStatuses(): Promise<TokenStatus[]> {
  const { profiles } = await host.request({ type: 'status' });
  const listing = JSON.stringify(profiles);
  void queued(async () => {
    await updateBadge(profiles);
    if (listing === lastListing) {
      // The popup shows the cache's time to the minute: renewing it more often is wasted work.
      if (Date.now() - lastWritten < TOUCH_EVERY_MS) return;
      await touchStatuses();
    } else {
      await writeAllStatuses(profiles);
      lastListing = listing;
      await changed();
    }
    lastWritten = Date.now();
  }).catch(() => console.warn('anaf-token: the status cache could not be written'));
  return profiles;
}

/** One profile's status as the host just answered it. */
export function remember(status: TokenStatus): Promise<TokenStatus> {
  return queued(async () => {
    lastListing = undefined;
    await writeStatus(status);
    await updateBadge((await readCachedStatuses()).profiles);
    await changed();
    return status;
  });
}

export function forget(name: string): Promise<void> {
  return queued(async () => {
    lastListing = undefined;
    await deleteStatus(name);
    await updateBadge((await readCachedStatuses()).profiles);
    await changed();
  });
}

/** After a failed token call the host may have recorded the failure: show what it knows now. */
export async function refetchQuietly(): Promise<void> {
  try {
    await fetchStatuses();
  } catch {
    // The original failure is what the user needs to see.
  }
}
