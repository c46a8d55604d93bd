/**
 * ANAF's dialect, read by the host: the answers the real ANAF has been seen to give (see
 * ../shared/anaf-facts.md), as oauth4webapi hands them over, become the right typed errors; its
 * JWT claims name the certificate; a token with no expiry anywhere gets ANAF's lifetimes.
 */
import * as oauth from 'oauth4webapi';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { inspectAnswer, anafFailure } from '../../native-host/src/oauth/anaf-answers.js';
import { ACCESS_TOKEN_FALLBACK_LIFETIME_MS, REFRESH_TOKEN_FALLBACK_LIFETIME_MS, tokenSet } from '../../native-host/src/oauth/anaf-client.js';
import { certificateFromClaims } from '../../native-host/src/oauth/token-claims.js';
import { normalizeSerialHex } from '#shared/certificate-serial.js';
import { withoutPersonalId } from '#shared/personal-id.js';

const as: oauth.AuthorizationServer = { issuer: 'https://logincert.anaf.ro', token_endpoint: 'https://logincert.anaf.ro/anaf-oauth2/v1/token' };
const client: oauth.Client = { client_id: 'c' };

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json;charset=UTF-8', ...headers } });
const html = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(status >= 300 && status < 400 ? null : body, { status, headers: { 'content-type': 'text/html; charset=utf-8', ...headers } });

async function refusal(res: Response, step: 'exchange' | 'refresh') {
  try {
    // As the host's fetch hands answers to oauth4webapi: inspected first.
    await oauth.processRefreshTokenResponse(as, client, await inspectAnswer(res));
  } catch (e) {
    return anafFailure(e, step);
  }
  throw new Error('the answer was accepted');
}

describe("ANAF's refusals", () => {
  it('every dead-grant shape on refresh is TOKEN_DEAD', async () => {
    const expired = 'Refresh Token status is expired';
    for (const error of ['invalid_request', 'invalid_grant', 'access_denied']) {
      const e = await refusal(json(400, { error, error_description: expired }), 'refresh');
      expect(e.code, error).toBe('TOKEN_DEAD');
      expect(e.detail).toBe(`refresh: ANAF answered 400 ${error}: ${expired}`);
    }
    expect((await refusal(json(400, { error: 'invalid_grant' }), 'refresh')).code).toBe('TOKEN_DEAD');
  });

  it('a stale or reused code (400 invalid_request) is INVALID_GRANT', async () => {
    expect((await refusal(json(400, { error: 'invalid_request', error_description: 'Invalid authorization code' }), 'exchange')).code).toBe('INVALID_GRANT');
    expect((await refusal(json(400, { error: 'invalid_grant' }), 'exchange')).code).toBe('INVALID_GRANT');
  });

  it('invalid_client with and without WWW-Authenticate is INVALID_CLIENT', async () => {
    const body = { error: 'invalid_client', error_description: 'Client authentication failed' };
    const challenged = await refusal(json(401, body, { 'www-authenticate': 'Basic realm="anaf-oauth2"' }), 'refresh');
    expect(challenged.code).toBe('INVALID_CLIENT');
    expect(challenged.detail).toBe('refresh: ANAF answered 401 invalid_client: Client authentication failed');
    expect((await refusal(json(401, body), 'refresh')).code).toBe('INVALID_CLIENT');
    expect((await refusal(new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="x"' } }), 'exchange')).code).toBe('INVALID_CLIENT');
  });

  it('a JSON 429 and a 5xx page mean "try later", not a refusal', async () => {
    const limited = await refusal(json(429, { error: 'too_many_requests', error_description: 'over 1000 calls a minute' }, { 'retry-after': '60' }), 'refresh');
    expect(limited.code).toBe('ANAF_UNAVAILABLE');
    expect((await refusal(html(503, '<h1>Service Unavailable</h1>'), 'refresh')).code).toBe('ANAF_UNAVAILABLE');
  });

  it("the firewall's HTTP 200 HTML page and a redirect to the login wall are bad answers, kept transient", async () => {
    const waf = await refusal(
      html(200, '<html><body>The requested URL was rejected. Please consult with your administrator.<br>Your support ID is: 123</body></html>'),
      'refresh',
    );
    expect(waf.code).toBe('ANAF_BAD_RESPONSE');
    expect(waf.detail).toMatch(/firewall/);
    const wall = await refusal(html(302, '', { location: '/my.policy?x=1' }), 'refresh');
    expect(wall.code).toBe('ANAF_BAD_RESPONSE');
    expect(wall.detail).toBe('refresh: ANAF answered 302, a redirect to /my.policy');
  });

  it('other refusals are AUTHORIZATION_FAILED, and a token echoed in a description is cut out', async () => {
    const e = await refusal(json(400, { error: 'unsupported_grant_type', error_description: `bad eyJhbGciOiJSUzUxMiJ9.${'x'.repeat(80)}` }), 'refresh');
    expect(e.code).toBe('AUTHORIZATION_FAILED');
    expect(e.detail).toBe('refresh: ANAF answered 400 unsupported_grant_type: bad …');
    const page = await refusal(html(403, '<h1>Forbidden</h1>'), 'refresh');
    expect(page.code).toBe('AUTHORIZATION_FAILED');
    expect(page.detail).toBe('refresh: ANAF answered 403');
  });
});

async function jwt(claims: Record<string, unknown>, exp?: number): Promise<string> {
  const key = new TextEncoder().encode('k'.repeat(32));
  const j = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' });
  if (exp !== undefined) j.setExpirationTime(exp);
  return j.sign(key);
}

describe("ANAF's token claims", () => {
  it('name the certificate by serial, issuer and roles, with no subject DN', async () => {
    const t = await jwt({
      iss: 'https://logincert.anaf.ro',
      serial: '00:4a:1f:0c:9d',
      sub: '004a1f0c9d',
      issuer: 'DigiSign Qualified CA Class 3 2017',
      roles: 'HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA',
      clientappid: 'c',
    });
    expect(certificateFromClaims(t)).toEqual({
      subject: undefined,
      serialHex: '4A1F0C9D',
      issuer: 'DigiSign Qualified CA Class 3 2017',
      roles: 'HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA',
      sha256: undefined,
    });
    // `sub` alone (no `serial`) still names it; `role` is the other spelling seen.
    expect(certificateFromClaims(await jwt({ sub: '4a1f0c9d', role: 'HELLO,EFACTURA' }))).toMatchObject({ serialHex: '4A1F0C9D', roles: 'HELLO,EFACTURA' });
    expect(certificateFromClaims('not a jwt')).toEqual({});
  });

  it('one spelling of a serial', () => {
    expect(normalizeSerialHex('00:4a:1f')).toBe('4A1F');
    expect(normalizeSerialHex('4A1F')).toBe('4A1F');
    expect(normalizeSerialHex('00')).toBe('00');
    expect(normalizeSerialHex('not hex')).toBeUndefined();
  });

  it('expiry: the JWT, else expires_in, else 90 days for access and 365 for refresh — never "now"', async () => {
    const now = Date.UTC(2026, 10, 30);
    const exp = Math.floor(now / 1000) + 1000;
    const fromJwt = tokenSet({ access_token: await jwt({}, exp), token_type: 'bearer', refresh_token: await jwt({}, exp + 5) }, now, now);
    expect(fromJwt.accessExpiresAt).toBe(exp * 1000);
    expect(fromJwt.refreshExpiresAt).toBe((exp + 5) * 1000);
    const fromAnswer = tokenSet({ access_token: 'opaque', token_type: 'bearer', expires_in: 7_776_000, refresh_token: 'r' }, now, now);
    expect(fromAnswer.accessExpiresAt).toBe(now + 7_776_000_000);
    const neither = tokenSet({ access_token: 'opaque', token_type: 'bearer', refresh_token: 'r' }, now, now);
    expect(neither.accessExpiresAt).toBe(now + ACCESS_TOKEN_FALLBACK_LIFETIME_MS);
    expect(neither.refreshExpiresAt).toBe(now + REFRESH_TOKEN_FALLBACK_LIFETIME_MS);
    expect(ACCESS_TOKEN_FALLBACK_LIFETIME_MS).toBe(90 * 86_400_000);
  });
});

describe('the personal ID number in a subject', () => {
  it('is removed for ERP clients, the rest of the subject kept', () => {
    expect(withoutPersonalId('CN=POPESCU ION,serialNumber=PNORO-1800101123456,O=FIRMA SRL,C=RO')).toBe('CN=POPESCU ION,O=FIRMA SRL,C=RO');
    expect(withoutPersonalId('serialNumber=PNORO-1800101123456, CN=POPESCU ION')).toBe('CN=POPESCU ION');
    // A company's registration serialNumber is not personal.
    expect(withoutPersonalId('CN=FIRMA SRL,serialNumber=J40/1/2020,C=RO')).toBe('CN=FIRMA SRL,serialNumber=J40/1/2020,C=RO');
  });
});
