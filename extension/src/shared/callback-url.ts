/**
 * Pure helpers for intercepting the OAuth callback inside the browser: the redirect rule's
 * pattern, the host-permission pattern for the callback origin, and rebuilding the callback
 * URL that the host checks. No browser APIs here (unit-tested under Node).
 */

/** Escapes a literal for RE2 (the declarativeNetRequest regex engine). */
export function escapeRe2(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The URL the browser will request: the registered redirect URI as the URL parser writes it. */
function normalized(redirectUri: string): string {
  return new URL(redirectUri).href;
}

/**
 * Matches the callback URL with or without a query; group 1 is the query without its leading
 * "?" (or "&" when the registered URI has its own query). Only ASCII: URL.href is punycoded and
 * percent-encoded.
 */
export function callbackRegex(redirectUri: string): string {
  return `^${escapeRe2(normalized(redirectUri))}(?:[?&](.*))?$`;
}

/**
 * The query parameter the rule puts first: the flow's nonce. Only that tab's rule writes it, so a
 * navigation that carries it came through the rule, in the flow's tab.
 */
export const FLOW_PARAM = 'flow';

/** "callback.html?flow=NONCE&\1": ANAF's query follows the nonce unchanged. */
export function callbackSubstitution(extensionPageUrl: string, nonce: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(nonce)) throw new Error('the nonce must be base64url');
  return `${extensionPageUrl}?${FLOW_PARAM}=${nonce}&\\1`;
}

/** What reached the extension page, split back into the rule's nonce and ANAF's query (as sent). */
export function splitInterceptedSearch(search: string): { nonce: string; query: string } | undefined {
  const m = new RegExp(`^\\?${FLOW_PARAM}=([A-Za-z0-9_-]{16,128})&([^]*)$`).exec(search);
  return m ? { nonce: m[1]!, query: m[2]! } : undefined;
}

/** The callback URL the browser was sent to, rebuilt from the profile's URI and the intercepted query. */
export function rebuildCallbackUrl(redirectUri: string, search: string): string {
  const query = search.startsWith('?') ? search.slice(1) : search;
  if (!query) return redirectUri;
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${query}`;
}

/**
 * What "Obtain token" needs besides the fixed permissions: host access to the callback origin
 * (without it Chrome ignores the redirect rule) and browsingData, to drop ANAF's redirect (which
 * carries the code) from the HTTP cache when ANAF lets it be cached.
 */
export function flowPermissions(origins: string[]): { origins: string[]; permissions: 'browsingData'[] } {
  return { origins, permissions: ['browsingData'] };
}

/**
 * Host access a profile's flow needs: the callback origin (or the rule is ignored) and, for an
 * OAuth server other than ANAF's (already in the manifest), that server (or its redirect back
 * cannot be seen, and the callback is refused).
 */
export function flowOrigins(redirectUri: string, env: string): string[] {
  const origins = [originPattern(redirectUri)];
  if (env !== 'prod' && env !== 'test') origins.push(originPattern(env));
  return [...new Set(origins)];
}

/** Host permission covering the callback (any port), e.g. "https://erp.example.ro/*". */
export function originPattern(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}/*`;
}
