/**
 * The last certificate listings from the host (the token's, and the browser store's), kept in
 * storage.session by the background so the popup can show them at once (nothing secret:
 * certificates are public, no PIN is ever stored).
 */
import browser from 'webextension-polyfill';
import * as z from 'zod/mini';
import { resultSchemas, type ResultOf } from '#shared/protocol/messages.js';

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

export const BROWSER_CERTS_KEY = 'certs.browser';

const cachedBrowserSchema = z.object({ at: z.number(), listing: resultSchemas['certs.browser'] });
export type CachedBrowserCerts = z.infer<typeof cachedBrowserSchema>;

export async function writeCachedBrowserCerts(listing: ResultOf<'certs.browser'>): Promise<void> {
  await browser.storage.session.set({ [BROWSER_CERTS_KEY]: { at: Date.now(), listing } });
}

export async function readCachedBrowserCerts(): Promise<CachedBrowserCerts | undefined> {
  const parsed = cachedBrowserSchema.safeParse((await browser.storage.session.get(BROWSER_CERTS_KEY))[BROWSER_CERTS_KEY]);
  return parsed.success ? parsed.data : undefined;
}
