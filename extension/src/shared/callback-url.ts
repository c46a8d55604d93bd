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

/** "callback.html?\1": the query moves to the extension page unchanged. */
export function callbackSubstitution(extensionPageUrl: string): string {
  return `${extensionPageUrl}?\\1`;
}

/** The callback URL the browser was sent to, rebuilt from the profile's URI and the intercepted query. */
export function rebuildCallbackUrl(redirectUri: string, search: string): string {
  const query = search.startsWith('?') ? search.slice(1) : search;
  if (!query) return redirectUri;
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${query}`;
}

/** Host permission covering the callback (any port), e.g. "https://erp.example.ro/*". */
export function originPattern(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}/*`;
}
