/**
 * The request page's messages with the service worker, and the callback rule's shape. The worker
 * keeps nothing of a request: it answers ANAF's redirect (callback.html?rq=NONCE&…) with 204 so
 * that it never commits, and hands its query to the page that holds the request in memory.
 */
import * as z from 'zod/mini';
import { callbackRegex } from '../shared/callback-url.js';

/** The query parameter the request's rule puts first (the obtain flow's is "flow"). */
export const REQUEST_PARAM = 'rq';
export const CALLBACK_PAGE_PATH = '/callback.html';

export const relayMessageSchema = z.object({
  type: z.literal('anaf-request-callback'),
  nonce: z.string().check(z.regex(/^[A-Za-z0-9_-]{16,128}$/)),
  query: z.string().check(z.maxLength(8192)),
  topFrame: z.boolean(),
});
export type RelayMessage = z.infer<typeof relayMessageSchema>;

export const witnessAskSchema = z.object({ type: z.literal('anaf-request-witness'), url: z.string().check(z.maxLength(10_000)) });
export const witnessAnswerSchema = z.nullable(z.object({ tabId: z.int(), frameId: z.int(), fromOrigin: z.string() }));

/** "?rq=NONCE&<ANAF's query>" → its parts; undefined for anything else. */
export function splitRequestSearch(search: string): { nonce: string; query: string } | undefined {
  const m = new RegExp(`^\\?${REQUEST_PARAM}=([A-Za-z0-9_-]{16,128})&([^]*)$`).exec(search);
  return m ? { nonce: m[1]!, query: m[2]! } : undefined;
}

export function isRequestCallback(url: URL, pageOrigins: readonly string[]): boolean {
  return pageOrigins.includes(`${url.protocol}//${url.host}`) && url.pathname === CALLBACK_PAGE_PATH && url.search.startsWith(`?${REQUEST_PARAM}=`);
}

/** ANAF's redirect to the callback URL, in the authorization tab's top frame only, goes to callback.html?rq=NONCE&… */
export function requestCallbackRule(
  ruleId: number,
  tabId: number,
  redirectUri: string,
  callbackPageUrl: string,
  nonce: string,
): chrome.declarativeNetRequest.Rule {
  if (!/^[A-Za-z0-9_-]+$/.test(nonce)) throw new Error('the nonce must be base64url');
  return {
    id: ruleId,
    priority: 100,
    action: { type: 'redirect', redirect: { regexSubstitution: `${callbackPageUrl}?${REQUEST_PARAM}=${nonce}&\\1` } },
    condition: { regexFilter: callbackRegex(redirectUri), isUrlFilterCaseSensitive: true, resourceTypes: ['main_frame'], tabIds: [tabId] },
  };
}

/** The popup hands a pasted link to the worker, which opens the request page with a one-time ticket. */
export const holdAskSchema = z.object({ type: z.literal('anaf-request-hold'), fragment: z.string().check(z.maxLength(8192)) });
export const takeAskSchema = z.object({ type: z.literal('anaf-request-take'), ticket: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)) });
export const takeAnswerSchema = z.nullable(z.string());
export const HELD_PARAM = 'held';
