/**
 * The redirect rule's pattern decides whether the OAuth code stays in the browser: it must
 * match the registered callback URL exactly as the browser requests it, and nothing else.
 * (The browser evaluates it with RE2; this pattern uses only syntax RE2 and JS agree on.)
 */
import { describe, expect, it } from 'vitest';
import { callbackRegex, callbackSubstitution, escapeRe2, originPattern, rebuildCallbackUrl } from '../../extension/src/shared/callback-url.js';
import { hostBrowser, installCommand } from '../../extension/src/shared/install-command.js';

const PAGE = 'chrome-extension://igbjmhbmmlfhbpngcanfobibgjmcfpnn/callback.html';

/** What Chrome does with the rule: the first match replaced by the substitution (\1 → group 1). */
function redirect(redirectUri: string, requested: string): string | undefined {
  const m = new RegExp(callbackRegex(redirectUri)).exec(requested);
  if (!m) return undefined;
  return callbackSubstitution(PAGE).replace('\\1', m[1] ?? '');
}

describe('callback interception pattern', () => {
  const uri = 'https://erp.example.ro/anaf/callback';

  it('sends the callback with its whole query to the extension page', () => {
    expect(redirect(uri, `${uri}?code=abc-_.~123&state=xyz`)).toBe(`${PAGE}?code=abc-_.~123&state=xyz`);
    expect(redirect(uri, `${uri}?error=access_denied&error_description=Not+enrolled&state=s`)).toBe(
      `${PAGE}?error=access_denied&error_description=Not+enrolled&state=s`,
    );
    expect(redirect(uri, uri)).toBe(`${PAGE}?`);
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
    expect(redirect('https://erp.example.ro', 'https://erp.example.ro/?code=1&state=2')).toBe(`${PAGE}?code=1&state=2`);
    expect(redirect('https://erp.example.ro:8443/cb', 'https://erp.example.ro:8443/cb?code=1')).toBe(`${PAGE}?code=1`);
    expect(redirect('https://facturare.ăî.ro/cb', `${new URL('https://facturare.ăî.ro/cb').href}?code=1`)).toBe(`${PAGE}?code=1`);
    expect(callbackRegex('https://erp.example.ro/a b')).toContain('a%20b');
    expect(/^[\x20-\x7e]*$/.test(callbackRegex('https://ăî.ro/ș'))).toBe(true);
  });

  it('handles a registered callback that has its own query', () => {
    const withQuery = 'https://erp.example.ro/cb?tenant=7';
    expect(redirect(withQuery, `${withQuery}&code=1&state=2`)).toBe(`${PAGE}?code=1&state=2`);
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

  it('asks for the callback host on any port', () => {
    expect(originPattern('https://erp.example.ro/anaf/callback?x=1')).toBe('https://erp.example.ro/*');
    expect(originPattern('https://erp.example.ro:8443/cb')).toBe('https://erp.example.ro/*');
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
