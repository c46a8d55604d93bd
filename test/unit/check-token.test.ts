/**
 * The token check's verdict on what ANAF's TestOauth hello answered, and the one request it
 * makes. fetch is injected here; test/integration/check.test.ts runs it against the stand-in.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { messagesFor, tokenCheckSchema, type TokenCheck } from '#shared/index.js';
import { createLogger } from '../../native-host/src/log/logger.js';
import { oauthEndpoints } from '../../native-host/src/oauth/endpoints.js';
import { callHello, checkFailure, checkToken, classifyHelloAnswer, classifyHelloFailure } from '../../native-host/src/tokens/check-token.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { tempPaths } from '../helpers/temp.js';

const env = { ANAF_TOKEN_KEYSTORE: 'file' };
const ACCESS = 'eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiJ0ZXN0LXVuaXQtY2hlY2sifQ.c2lnbmF0dXJlLW9mLXRoZS10ZXN0LXRva2Vu';

/** ANAF's F5 firewall page, as it answers a request it blocks (HTTP 200). */
const WAF_PAGE =
  "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with your administrator.<br><br>Your support ID is: 1234567890123456789<br><br><a href='javascript:history.back();'>[Go Back]</a></body></html>";

describe('classifyHelloAnswer', () => {
  it('calls HTTP 200 ok', () => {
    expect(classifyHelloAnswer({ status: 200, body: 'Hello test' })).toEqual({ result: 'ok', httpStatus: 200 });
    expect(classifyHelloAnswer({ status: 200, body: '{"message":"Hello test"}' })).toEqual({ result: 'ok', httpStatus: 200 });
  });

  it('calls the firewall\'s HTTP 200 "The requested URL was rejected" page unavailable, with its support ID', () => {
    const v = classifyHelloAnswer({ status: 200, body: WAF_PAGE });
    expect(v).toMatchObject({ result: 'unavailable', httpStatus: 200 });
    expect(v.detail).toContain('The requested URL was rejected');
    expect(v.detail).toContain('support ID 1234567890123456789');
    expect(classifyHelloAnswer({ status: 200, body: '<html><body>the requested url was rejected</body></html>' }).result).toBe('unavailable');
  });

  it('calls 401 and 403 not-authorized, naming the Bearer error and nothing else from the header', () => {
    expect(classifyHelloAnswer({ status: 401, wwwAuthenticate: 'Bearer error="invalid_token"', body: 'Unauthorized' })).toEqual({
      result: 'not-authorized',
      httpStatus: 401,
      detail: 'ANAF answered 401 invalid_token',
    });
    const noisy = classifyHelloAnswer({
      status: 401,
      wwwAuthenticate: `Bearer realm="x", error="invalid_token", error_description="${ACCESS} is expired"`,
      body: '',
    });
    expect(noisy.detail).toBe('ANAF answered 401 invalid_token');
    expect(classifyHelloAnswer({ status: 403, body: 'Forbidden' })).toEqual({ result: 'not-authorized', httpStatus: 403, detail: 'ANAF answered 403' });
  });

  it('calls 429, 5xx, redirects and other statuses unavailable', () => {
    for (const status of [429, 500, 502, 503, 504, 302, 404, 400, 204]) {
      const v = classifyHelloAnswer({ status, body: '<html>error</html>' });
      expect(v, String(status)).toMatchObject({ result: 'unavailable', httpStatus: status });
      expect(v.detail).toContain(String(status));
    }
  });
});

describe('classifyHelloFailure', () => {
  it('says a timeout, or the system error of a failed connection', () => {
    expect(classifyHelloFailure(new DOMException('timed out', 'TimeoutError'), 15_000)).toEqual({
      result: 'unavailable',
      detail: 'no answer from ANAF in 15 s',
    });
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    expect(classifyHelloFailure(refused, 1000)).toEqual({ result: 'unavailable', detail: 'the request to ANAF failed: ECONNREFUSED' });
  });
});

describe('the hello request', () => {
  it('goes to api.anaf.ro for prod and test, and under the base URL for another server', () => {
    expect(oauthEndpoints('prod').hello).toBe('https://api.anaf.ro/TestOauth/jaxrs/hello?name=test');
    expect(oauthEndpoints('test').hello).toBe('https://api.anaf.ro/TestOauth/jaxrs/hello?name=test');
    expect(oauthEndpoints('https://127.0.0.1:8443/').hello).toBe('https://127.0.0.1:8443/TestOauth/jaxrs/hello?name=test');
  });

  it('is one GET with the Bearer token that follows no redirect, and reads only the start of a huge body', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fake: typeof fetch = async (url, init) => {
      calls.push({ url: url instanceof Request ? url.url : url.toString(), init: init! });
      return new Response('x'.repeat(5_000_000), { status: 200 });
    };
    const v = await callHello({ name: 'p', clientId: 'c', redirectUri: 'https://erp.example.ro/cb', env: 'prod', refreshWindowDays: 14 }, ACCESS, {
      timeoutMs: 1000,
      fetch: fake,
    });
    expect(v).toEqual({ result: 'ok', httpStatus: 200 });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe('https://api.anaf.ro/TestOauth/jaxrs/hello?name=test');
    expect(calls[0]!.init).toMatchObject({ method: 'GET', redirect: 'manual' });
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe(`Bearer ${ACCESS}`);
    expect(calls[0]!.init.signal).toBeInstanceOf(AbortSignal);
  });

  it('turns a thrown fetch into unavailable', async () => {
    const broken: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } });
    };
    const v = await callHello({ name: 'p', clientId: 'c', redirectUri: 'https://erp.example.ro/cb', env: 'test', refreshWindowDays: 14 }, ACCESS, {
      timeoutMs: 1000,
      fetch: broken,
    });
    expect(v).toEqual({ result: 'unavailable', detail: 'the request to ANAF failed: ENOTFOUND' });
  });
});

describe('checkToken', () => {
  function setup() {
    const paths = tempPaths('check-unit');
    const vault = Vault.open({ paths, env });
    vault.saveProfile(
      { name: 'p', clientId: 'c', clientSecret: 's', redirectUri: 'https://erp.example.ro/cb', env: 'https://127.0.0.1:9', refreshWindowDays: 14 },
      'create',
    );
    const log = createLogger({ component: 'test', file: paths.logFile });
    return { store: vault, log, paths };
  }
  const answering =
    (status: number, body = '', headers: Record<string, string> = {}): typeof fetch =>
    async () =>
      new Response(body, { status, headers });

  it('answers the shared shape, logs the verdict and never the token, and changes nothing in the vault', async () => {
    const { store: vault, log, paths } = setup();
    await expect(checkToken({ store: vault, log }, 'p', { fetch: answering(200) })).rejects.toMatchObject({ code: 'NO_TOKEN' });
    await expect(checkToken({ store: vault, log }, 'nobody', { fetch: answering(200) })).rejects.toMatchObject({ code: 'PROFILE_NOT_FOUND' });
    vault.saveTokens(
      'p',
      {
        accessToken: ACCESS,
        refreshToken: 'refresh-0123456789',
        accessExpiresAt: Date.now() + 80 * 86_400_000,
        refreshExpiresAt: Date.now() + 300 * 86_400_000,
      },
      { kind: 'authorization', certificate: {}, stateEchoed: true },
    );
    const before = vault.findToken('p');
    const t = Date.parse('2026-03-01T10:00:00Z');
    const ok = await checkToken({ store: vault, log, now: () => t }, 'p', { fetch: answering(200, 'Hello test') });
    expect(ok).toEqual({ profile: 'p', result: 'ok', httpStatus: 200, checkedAt: '2026-03-01T10:00:00.000Z' });
    expect(tokenCheckSchema.parse(ok)).toEqual(ok);
    const denied = await checkToken({ store: vault, log }, 'p', { fetch: answering(401, 'no', { 'WWW-Authenticate': 'Bearer error="invalid_token"' }) });
    expect(tokenCheckSchema.parse(denied)).toMatchObject({ result: 'not-authorized', httpStatus: 401, detail: 'ANAF answered 401 invalid_token' });
    expect(vault.findToken('p')).toEqual(before);
    const logged = fs.readFileSync(paths.logFile, 'utf8');
    expect(logged).toContain('token.check profile="p" result="ok" status=200');
    expect(logged).toContain('result="not-authorized" status=401');
    expect(logged).not.toContain(ACCESS.split('.')[2]);
    vault.close();
  });

  it('maps a failed check to its error code and exit code', () => {
    const base: TokenCheck = { profile: 'p', result: 'ok', checkedAt: new Date().toISOString() };
    expect(checkFailure(base)).toBeUndefined();
    const denied = checkFailure({ ...base, result: 'not-authorized', httpStatus: 401, detail: 'ANAF answered 401' })!;
    expect(denied).toMatchObject({ code: 'TOKEN_NOT_AUTHORIZED', detail: 'ANAF answered 401', exitCode: 6 });
    expect(messagesFor('TOKEN_NOT_AUTHORIZED').en).toContain('24 hours');
    expect(messagesFor('TOKEN_NOT_AUTHORIZED').ro).toContain('24 de ore');
    expect(checkFailure({ ...base, result: 'unavailable', httpStatus: 503 })).toMatchObject({ code: 'ANAF_UNAVAILABLE', exitCode: 5 });
  });
});
