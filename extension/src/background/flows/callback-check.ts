/**
 * Which navigation to callback.html may finish an obtain flow. The service worker sees each one
 * as a fetch event and answers it with 204 (nothing commits, so the code never reaches History,
 * the tab's session entries or the page); this decides, with no browser API (unit-tested under
 * Node), whether it is ANAF's answer to a flow this extension started:
 *   - the URL is exactly callback.html?flow=NONCE&<query>, where NONCE is the flow's: only the
 *     session rule of the flow's tab, for its top frame, ever writes it (storage.session keeps
 *     only its digest, no page and no history ever shows it);
 *   - the request is a top-level navigation (mode "navigate", destination "document"), not a frame;
 *   - the browser got to the callback URL by a server redirect from ANAF's authorize origin, in
 *     the top frame of the flow's own tab, exactly to that URL (webRequest saw it:
 *     redirect-witness.ts); a page that sends its tab there by script makes a plain navigation;
 *   - the query carries exactly one `state`, the one the host issued for this flow.
 * Anything else is refused; a refusal never quotes the URL (it holds the code).
 */
import { rebuildCallbackUrl, splitInterceptedSearch } from '../../shared/callback-url.js';
import type { Flow, Flows } from '../../shared/flow-state.js';

export const CALLBACK_PATH = '/callback.html';

/** What the fetch event tells about the navigation. */
export interface InterceptedNavigation {
  url: string;
  mode: string;
  destination: string;
}

export type Refusal = 'no-flow' | 'not-top-frame' | 'not-redirected-in-flow-tab' | 'no-state' | 'foreign-state';

/** Where a server redirect to a URL happened (which tab, frame, from which origin), if the browser followed one lately. */
export type RedirectWitness = (url: string) => Promise<{ tabId: number; frameId: number; fromOrigin: string } | undefined>;

export type Verdict =
  | { accept: true; flow: Flow; callbackUrl: string }
  /** `flow` is set when the navigation came through a flow's rule (its nonce) but is still refused. */
  | { accept: false; reason: Refusal; flow?: Flow };

/** SHA-256, base64url: how the flow remembers its nonce and state. */
export async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** "chrome-extension://ID" (URL.origin is "null" for this scheme outside the browser). */
export function schemeAndHost(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** A navigation to the extension's callback page with a query: always answered by the worker, never shown. */
export function isCallbackNavigation(url: URL, pageOrigins: readonly string[]): boolean {
  return pageOrigins.includes(schemeAndHost(url)) && url.pathname === CALLBACK_PATH && url.search !== '';
}

export async function judgeCallback(nav: InterceptedNavigation, flows: Flows, pageOrigins: readonly string[], redirectedTo: RedirectWitness): Promise<Verdict> {
  const url = new URL(nav.url);
  const split = isCallbackNavigation(url, pageOrigins) ? splitInterceptedSearch(url.search) : undefined;
  if (!split) return { accept: false, reason: 'no-flow' };
  const nonceHash = await digest(split.nonce);
  const flow = Object.values(flows).find((f) => f.phase === 'waiting' && f.nonceHash === nonceHash);
  if (!flow || flow.redirectUri === undefined || flow.stateHash === undefined) return { accept: false, reason: 'no-flow' };
  // The rule redirects only the tab's main frame; a frame carrying the nonce did not come from it.
  if (nav.mode !== 'navigate' || nav.destination !== 'document') return { accept: false, reason: 'not-top-frame' };
  const callbackUrl = rebuildCallbackUrl(flow.redirectUri, split.query);
  const hop = await redirectedTo(callbackUrl);
  if (!hop || hop.tabId !== flow.tabId || hop.frameId !== 0 || hop.fromOrigin !== flow.authorizeOrigin) {
    return { accept: false, reason: 'not-redirected-in-flow-tab', flow };
  }
  const states = new URLSearchParams(split.query).getAll('state');
  if (states.length === 0) return { accept: false, reason: 'no-state', flow };
  if (states.length > 1 || (await digest(states[0]!)) !== flow.stateHash) return { accept: false, reason: 'foreign-state', flow };
  return { accept: true, flow, callbackUrl };
}
