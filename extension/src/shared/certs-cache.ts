/**
 * The last certificate listing from the host, kept in storage.session by the background so the
 * popup can show it at once (nothing secret: certificates are public, no PIN is ever stored).
 */
import browser from 'webextension-polyfill';
import * as z from 'zod/mini';
import { resultSchemas, type ResultOf } from '../../../shared/src/protocol/messages.js';

export const CERTS_KEY = 'certs';

const cachedSchema = z.object({ at: z.number(), listing: resultSchemas['certs.list'] });
export type CachedCerts = z.infer<typeof cachedSchema>;

export async function writeCachedCerts(listing: ResultOf<'certs.list'>): Promise<void> {
  await browser.storage.session.set({ [CERTS_KEY]: { at: Date.now(), listing } });
}

/** Undefined when absent or written by another version (it must parse, like every host answer). */
export async function readCachedCerts(): Promise<CachedCerts | undefined> {
  const parsed = cachedSchema.safeParse((await browser.storage.session.get(CERTS_KEY))[CERTS_KEY]);
  return parsed.success ? parsed.data : undefined;
}
