/**
 * The redirect rule's pattern decides whether the OAuth code stays in the browser: it must
 * match the registered callback URL exactly as the browser requests it, and nothing else.
 * (The browser evaluates it with RE2; this pattern uses only syntax RE2 and JS agree on.)
 */
import { describe, expect, it } from 'vitest';
import {
  callbackRegex,
  callbackSubstitution,
  escapeRe2,
  flowOrigins,
  flowPermissions,
  originPattern,
  rebuildCallbackUrl,
  splitInterceptedSearch,
} from '../../extension/src/shared/callback-url.js';
import { hostBrowser, installCommand } from '../../extension/src/shared/install-command.js';

const PAGE = 'chrome-extension://0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/callback.html';
const NONCE = 'n0nce-_0123456789abcdefghijklmnopqrstuvwxyzABC';
const TO = `${PAGE}?flow=${NONCE}&`;

/** What Chrome does with the rule: the first match replaced by the substitution (\1 → group 1). */
function redirect(redirectUri: string, requested: string): string | undefined {
  const m = new RegExp(callbackRegex(redirectUri)).exec(requested);
  if (!m) return undefined;
  return callbackSubstitution(PAGE, NONCE).replace('\\1', m[1] ?? '');
}

describe('callback interception pattern', () => {
  const uri = 'https://erp.example.ro/anaf/callback';

  it("sends the callback with its whole query to the extension page, after the flow's nonce", () => {
    expect(redirect(uri, `${uri}?code=abc-_.~123&state=xyz`)).toBe(`${TO}code=abc-_.~123&state=xyz`);
    expect(redirect(uri, `${uri}?error=access_denied&error_description=Not+enrolled&state=s`)).toBe(
      `${TO}error=access_denied&error_description=Not+enrolled&state=s`,
    );
    expect(redirect(uri, uri)).toBe(TO);
  });

  it("splits what reached the page back into the nonce and ANAF's query, unchanged", () => {
    const reached = new URL(redirect(uri, `${uri}?code=a%2Fb+c&state=xyz&flow=evil`)!);
    expect(splitInterceptedSearch(reached.search)).toEqual({ nonce: NONCE, query: 'code=a%2Fb+c&state=xyz&flow=evil' });
    expect(splitInterceptedSearch(new URL(redirect(uri, uri)!).search)).toEqual({ nonce: NONCE, query: '' });
    // Not what the rule writes: no nonce first, a short or odd nonce, no separator.
    for (const search of ['?code=1&state=2', `?state=2&flow=${NONCE}&code=1`, '?flow=short&code=1', `?flow=${NONCE}`, `?flow=${NONCE}!&code=1`, '']) {
      expect(splitInterceptedSearch(search), search).toBeUndefined();
    }
  });

  it('takes only a base64url nonce (the substitution is a regex replacement)', () => {
    expect(() => callbackSubstitution(PAGE, 'a\\1')).toThrow();
    expect(() => callbackSubstitution(PAGE, 'a&b')).toThrow();
    expect(() => callbackSubstitution(PAGE, '')).toThrow();
  });

  it('leaves every other URL alone', () => {
    for (const other of [
      'https://erp.example.ro/anaf/callback2?code=x',
      'https://erp.example.ro/anaf/callbac?code=x',
      'https://erp.example.ro/anaf/Callback?code=x',
      'https://erp.example.ro/anaf/callback/x?code=x',
      'https://erp.example.ro:8443/anaf/callback?code=x',
      'http://erp.example.ro/anaf/callback?code=x',
      'https://erpXexample.ro/anaf/callback?code=x',
      'https://evil.example/?u=https://erp.example.ro/anaf/callback?code=x',
      'https://erp.example.ro.evil.example/anaf/callback?code=x',
    ]) {
      expect(redirect(uri, other), other).toBeUndefined();
    }
  });

  it('matches the URL as the browser writes it (trailing slash, port, punycode, percent-encoding)', () => {
    expect(redirect('https://erp.example.ro', 'https://erp.example.ro/?code=1&state=2')).toBe(`${TO}code=1&state=2`);
    expect(redirect('https://erp.example.ro:8443/cb', 'https://erp.example.ro:8443/cb?code=1')).toBe(`${TO}code=1`);
    expect(redirect('https://facturare.ăî.ro/cb', `${new URL('https://facturare.ăî.ro/cb').href}?code=1`)).toBe(`${TO}code=1`);
    expect(callbackRegex('https://erp.example.ro/a b')).toContain('a%20b');
    expect(/^[\x20-\x7e]*$/.test(callbackRegex('https://ăî.ro/ș'))).toBe(true);
  });

  it('handles a registered callback that has its own query', () => {
    const withQuery = 'https://erp.example.ro/cb?tenant=7';
    expect(redirect(withQuery, `${withQuery}&code=1&state=2`)).toBe(`${TO}code=1&state=2`);
    expect(redirect(withQuery, 'https://erp.example.ro/cb?tenant=8&code=1')).toBeUndefined();
    expect(rebuildCallbackUrl(withQuery, '?code=1&state=2')).toBe(`${withQuery}&code=1&state=2`);
  });

  it('escapes every RE2 metacharacter', () => {
    const literal = '.*+?^${}()|[]\\';
    expect(new RegExp(`^${escapeRe2(literal)}$`).test(literal)).toBe(true);
  });
});

describe('callback URL and permission helpers', () => {
  it('rebuilds the URL the host checks from the registered URI and the intercepted query', () => {
    expect(rebuildCallbackUrl('https://erp.example.ro/anaf/callback', '?code=1&state=2')).toBe('https://erp.example.ro/anaf/callback?code=1&state=2');
    expect(rebuildCallbackUrl('https://erp.example.ro/anaf/callback', '')).toBe('https://erp.example.ro/anaf/callback');
  });

  it('asks for the callback host on any port, with browsingData (to drop the cached redirect)', () => {
    expect(originPattern('https://erp.example.ro/anaf/callback?x=1')).toBe('https://erp.example.ro/*');
    expect(originPattern('https://erp.example.ro:8443/cb')).toBe('https://erp.example.ro/*');
    expect(flowPermissions(['https://erp.example.ro/*'])).toEqual({ origins: ['https://erp.example.ro/*'], permissions: ['browsingData'] });
  });

  it("asks for the OAuth server too when it is not ANAF's (its redirect back must be seen)", () => {
    expect(flowOrigins('https://erp.example.ro/cb', 'prod')).toEqual(['https://erp.example.ro/*']);
    expect(flowOrigins('https://erp.example.ro/cb', 'test')).toEqual(['https://erp.example.ro/*']);
    expect(flowOrigins('https://erp.example.ro/cb', 'https://oauth.example.ro:8443/base')).toEqual(['https://erp.example.ro/*', 'https://oauth.example.ro/*']);
    expect(flowOrigins('https://erp.example.ro/cb', 'https://erp.example.ro:9443')).toEqual(['https://erp.example.ro/*']);
  });
});

describe('install command', () => {
  const nav = (brands: string[]) => ({ userAgentData: { brands: brands.map((brand) => ({ brand })) } }) as unknown as Navigator;

  it('names the browser the extension runs in', () => {
    expect(hostBrowser(nav(['Not.A/Brand', 'Chromium', 'Google Chrome']))).toBe('chrome');
    expect(hostBrowser(nav(['Chromium', 'Microsoft Edge']))).toBe('edge');
    expect(hostBrowser(nav(['Brave', 'Chromium']))).toBe('brave');
    expect(hostBrowser(nav(['Chromium', 'Not_A Brand']))).toBe('chromium');
    expect(installCommand({} as Navigator)).toBe('anaf-token install --browser chrome');
  });
});
