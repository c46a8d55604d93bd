/**
 * The holder's side pieces that need no browser: the OAuth addresses the request page uses (the
 * same as the native host's), the callback rule and the worker's recognition of its redirect.
 */
import { describe, expect, it } from 'vitest';
import { requestAuthorizeUrl, requestTokenEndpoint } from '#shared/request/oauth.js';
import type { RequestBody } from '#shared/request/format.js';
import { authorizationUrl } from '../../native-host/src/oauth/anaf-client.js';
import { oauthEndpoints } from '../../native-host/src/oauth/endpoints.js';
import { isRequestCallback, requestCallbackRule, splitRequestSearch } from '../../extension/src/request/protocol.js';

const body = (env: RequestBody['env']): RequestBody => ({
  v: 1,
  id: 'A'.repeat(22),
  env,
  cid: 'client-abc',
  cb: 'https://erp.example.ro/anaf/cb?x=1',
  st: 'S'.repeat(43),
  exp: 1,
  pk: 'P'.repeat(87),
  iv: 'I'.repeat(16),
  ct: 'C'.repeat(40),
});

describe('request page: OAuth addresses', () => {
  for (const env of ['prod', 'test', 'https://127.0.0.1:8443', 'https://127.0.0.1:8443/'] as const) {
    it(`are the native host's for env ${env}`, () => {
      const b = body(env);
      expect(requestTokenEndpoint(env)).toBe(oauthEndpoints(env).token);
      const profile = { name: 'p', clientId: b.cid, redirectUri: b.cb, env, refreshWindowDays: 14 };
      expect(requestAuthorizeUrl(b)).toBe(authorizationUrl(profile, b.st));
    });
  }
});

describe('request page: the callback rule and its redirect', () => {
  const page = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop/callback.html';
  it("redirects only the callback URL, in the tab's top frame, to callback.html?rq=NONCE&<ANAF's query>", () => {
    const nonce = 'n'.repeat(43);
    const rule = requestCallbackRule(7, 7, 'https://erp.example.ro/anaf/callback', page, nonce);
    expect(rule.condition).toMatchObject({ tabIds: [7], resourceTypes: ['main_frame'] });
    const re = new RegExp(rule.condition.regexFilter!);
    const m = re.exec('https://erp.example.ro/anaf/callback?code=abc&state=xyz');
    expect(m?.[1]).toBe('code=abc&state=xyz');
    expect(re.test('https://erp.example.ro/anaf/callbackX?code=abc')).toBe(false);
    expect(re.test('https://evil.example/anaf/callback?code=abc')).toBe(false);
    const target = rule.action.redirect!.regexSubstitution!.replace('\\1', m![1]!);
    const url = new URL(target);
    expect(isRequestCallback(url, ['chrome-extension://abcdefghijklmnopabcdefghijklmnop'])).toBe(true);
    expect(splitRequestSearch(url.search)).toEqual({ nonce, query: 'code=abc&state=xyz' });
    expect(() => requestCallbackRule(1, 1, 'https://a.example/cb', page, 'bad nonce&')).toThrow();
  });

  it("is not the obtain flow's (?flow=) nor another origin's page", () => {
    const origins = ['chrome-extension://abcdefghijklmnopabcdefghijklmnop'];
    expect(isRequestCallback(new URL(`${page}?flow=${'n'.repeat(20)}&code=1`), origins)).toBe(false);
    expect(isRequestCallback(new URL(`chrome-extension://other/callback.html?rq=${'n'.repeat(20)}&code=1`), origins)).toBe(false);
    expect(splitRequestSearch('?rq=short&code=1')).toBeUndefined();
  });
});
