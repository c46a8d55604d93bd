import { spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt, importJWK, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../pki/make-pki.js';
import { ANAF_PATHS, startAnafStandin, type AnafStandin, type StandinOptions } from './server.js';

const CLIENT_ID = 'client-1';
const CLIENT_SECRET = 's3cr:et+/%&='; // characters that need form-urlencoding in Basic auth
const REDIRECT = 'https://erp.example.ro/anaf/callback';
const REDIRECT_WITH_QUERY = 'https://erp.example.ro/cb?tenant=7';
const OTHER_ID = 'client-2';
const OTHER_SECRET = 'other-secret';
const OTHER_REDIRECT = 'https://other.example.ro/cb';

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}
interface ReqOpts {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  cert?: { certPem: string; keyPem: string };
}

let pki: Pki;
let pkiDir: string;
let standin: AnafStandin;

function request(url: string, o: ReqOpts = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: o.method ?? 'GET',
        headers: o.headers,
        ca: pki.ca.certPem,
        cert: o.cert?.certPem,
        key: o.cert?.keyPem,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

function authorizeUrl(params: Record<string, string>): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT,
    token_content_type: 'jwt',
    state: 'st-1 +/?&=ă',
    ...params,
  });
  return `${standin.url}${ANAF_PATHS.authorize}?${q.toString()}`;
}

async function authorize(
  params: Record<string, string> = {},
  cert: ReqOpts['cert'] | null = pki.client,
): Promise<{ res: Res; location: URL | undefined }> {
  const res = await request(authorizeUrl(params), { cert: cert ?? undefined });
  const loc = res.headers.location;
  return { res, location: loc ? new URL(loc) : undefined };
}

async function getCode(params: Record<string, string> = {}, cert: ReqOpts['cert'] = pki.client): Promise<string> {
  const { res, location } = await authorize(params, cert);
  expect(res.status).toBe(302);
  const code = location?.searchParams.get('code');
  if (!code) throw new Error('no code in redirect');
  return code;
}

function basic(id: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64');
}

function post(endpoint: 'token' | 'revoke', form: Record<string, string>, headers: Record<string, string> = {}): Promise<Res> {
  return request(standin.url + ANAF_PATHS[endpoint], {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

const formAuth = { client_id: CLIENT_ID, client_secret: CLIENT_SECRET };

function exchange(code: string, extra: Record<string, string> = {}): Promise<Res> {
  return post('token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, token_content_type: 'jwt', ...formAuth, ...extra });
}

function refresh(refreshToken: string, extra: Record<string, string> = {}): Promise<Res> {
  return post('token', { grant_type: 'refresh_token', refresh_token: refreshToken, token_content_type: 'jwt', ...formAuth, ...extra });
}

interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
}

function tokens(res: Res): TokenAnswer {
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body) as TokenAnswer;
}

async function login(cert: ReqOpts['cert'] = pki.client): Promise<TokenAnswer> {
  return tokens(await exchange(await getCode({}, cert)));
}

function hello(token: string | undefined, name = 'x'): Promise<Res> {
  return request(`${standin.url}${ANAF_PATHS.hello}?name=${encodeURIComponent(name)}`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

function errorOf(res: Res): string | undefined {
  return (JSON.parse(res.body) as { error?: string }).error;
}

async function restart(extra: Partial<StandinOptions> = {}): Promise<void> {
  await standin.close();
  standin = await startAnafStandin(baseOptions(extra));
}

function baseOptions(extra: Partial<StandinOptions> = {}): StandinOptions {
  return {
    pki,
    clients: [
      { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT, REDIRECT_WITH_QUERY] },
      { clientId: OTHER_ID, clientSecret: OTHER_SECRET, redirectUris: [OTHER_REDIRECT] },
    ],
    // These tests were written against the RFC-shaped stand-in; the anaf dialect gets its own.
    dialect: 'rfc',
    ...extra,
  };
}

beforeAll(async () => {
  pkiDir = fs.mkdtempSync(os.tmpdir() + '/anaf-pki-');
  pki = await makePki(pkiDir, { serverNames: ['erp.example.ro', 'logincert.anaf.test'] });
});

afterAll(() => {
  fs.rmSync(pkiDir, { recursive: true, force: true });
});

beforeEach(async () => {
  standin = await startAnafStandin(baseOptions());
});

afterEach(async () => {
  await standin.close();
});

describe('test PKI', () => {
  it('writes the files with private keys 0600 and reuses them on the next call', async () => {
    for (const f of [pki.ca.keyFile, pki.server.keyFile, pki.client.keyFile, pki.client.p12File, pki.clientEc.keyFile]) {
      expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    }
    expect(fs.existsSync(path.join(pkiDir, 'pki.json'))).toBe(true);
    expect(pki.client.subject).toBe('CN=POPESCU ION,serialNumber=PNORO-1800101123456,GN=ION,SN=POPESCU,C=RO');
    expect(pki.clientEc.subject).toBe('CN=IONESCU MARIA,C=RO');
    const server = new X509Certificate(pki.server.certPem);
    expect(server.subjectAltName).toContain('DNS:logincert.anaf.test');
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(Date.parse(server.validTo) - Date.parse(server.validFrom)).toBeLessThanOrEqual(397 * 86400_000);
    expect(Date.parse(new X509Certificate(pki.expiredClient.certPem).validTo)).toBeLessThan(Date.now());
    expect(new X509Certificate(pki.client.certPem).verify(new X509Certificate(pki.ca.certPem).publicKey)).toBe(true);

    const t0 = Date.now();
    const again = await makePki(pkiDir, { serverNames: ['erp.example.ro'] });
    expect(Date.now() - t0).toBeLessThan(500);
    expect(again.client.certPem).toBe(pki.client.certPem);
  });
});

describe('authorize', () => {
  it('answers 403 Access denied without a client certificate', async () => {
    const { res, location } = await authorize({}, null);
    expect(res.status).toBe(403);
    expect(res.body).toContain('Access denied');
    expect(location).toBeUndefined();
  });

  it('answers 403 for a certificate of another CA and for an expired one', async () => {
    for (const cert of [pki.rogueClient, pki.expiredClient]) {
      const { res } = await authorize({}, cert);
      expect(res.status).toBe(403);
      expect(res.body).toContain('Access denied');
    }
    expect(standin.issued.codes).toHaveLength(0);
  });

  it('redirects with a code and the unchanged state', async () => {
    const { res, location } = await authorize();
    expect(res.status).toBe(302);
    expect(location?.origin + (location?.pathname ?? '')).toBe(REDIRECT);
    expect(location?.searchParams.get('state')).toBe('st-1 +/?&=ă');
    expect(location?.searchParams.get('code')).toBe(standin.issued.codes[0]);
  });

  it('appends to a redirect_uri that already has a query', async () => {
    const { location } = await authorize({ redirect_uri: REDIRECT_WITH_QUERY });
    expect(location?.searchParams.get('tenant')).toBe('7');
    expect(location?.searchParams.get('code')).toBeTruthy();
    const code = location?.searchParams.get('code') ?? '';
    tokens(await exchange(code, { redirect_uri: REDIRECT_WITH_QUERY }));
  });

  it('omits state when told to', async () => {
    standin.setOptions({ omitState: true });
    const { location } = await authorize();
    expect(location?.searchParams.get('code')).toBeTruthy();
    expect(location?.searchParams.has('state')).toBe(false);
  });

  it('redirects with access_denied for a certificate not enrolled in SPV', async () => {
    standin.setOptions({ enrolledSubjects: ['IONESCU MARIA'] });
    const denied = await authorize();
    expect(denied.res.status).toBe(302);
    expect(denied.location?.searchParams.get('error')).toBe('access_denied');
    expect(denied.location?.searchParams.get('error_description')).toBeTruthy();
    expect(denied.location?.searchParams.get('state')).toBe('st-1 +/?&=ă');
    expect(denied.location?.searchParams.has('code')).toBe(false);
    const ok = await authorize({}, pki.clientEc);
    expect(ok.location?.searchParams.get('code')).toBeTruthy();
    standin.setOptions({ enrolledSubjects: undefined });
    expect((await authorize()).location?.searchParams.get('code')).toBeTruthy();
  });

  it('answers an error page, not a redirect, for an unknown client or a redirect_uri mismatch', async () => {
    const unknown = await authorize({ client_id: 'nope' });
    expect(unknown.res.status).toBe(400);
    expect(unknown.res.headers['content-type']).toContain('text/html');
    expect(unknown.location).toBeUndefined();
    for (const redirect_uri of [REDIRECT + '/', 'https://ERP.example.ro/anaf/callback', OTHER_REDIRECT]) {
      const mismatch = await authorize({ redirect_uri });
      expect(mismatch.res.status).toBe(400);
      expect(mismatch.res.body).toContain('redirect_uri mismatch');
      expect(mismatch.location).toBeUndefined();
    }
  });

  it('redirects with unsupported_response_type', async () => {
    const { res, location } = await authorize({ response_type: 'token' });
    expect(res.status).toBe(302);
    expect(location?.searchParams.get('error')).toBe('unsupported_response_type');
    expect(location?.searchParams.get('state')).toBe('st-1 +/?&=ă');
  });

  it('works with an EC P-256 client certificate', async () => {
    const t = await login(pki.clientEc);
    const claims = decodeJwt(t.access_token);
    expect(claims.sub).toBe('CN=IONESCU MARIA,C=RO');
  });
});

describe('token: authorization_code', () => {
  it('exchanges a code with HTTP Basic client authentication', async () => {
    const code = await getCode();
    const res = await post(
      'token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { Authorization: basic(CLIENT_ID, CLIENT_SECRET) },
    );
    const t = tokens(res);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toContain('application/json');
    expect(t.token_type).toBe('Bearer');
    expect(t.expires_in).toBe(90 * 86400);
    expect(standin.issued.accessTokens).toEqual([t.access_token]);
    expect(standin.issued.refreshTokens).toEqual([t.refresh_token]);
  });

  it('accepts Basic credentials that were not url-encoded', async () => {
    const code = await getCode();
    const raw = 'Basic ' + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
    tokens(await post('token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, { Authorization: raw }));
  });

  it('exchanges a code with client_id and client_secret form fields', async () => {
    const t = await login();
    expect(t.access_token.split('.')).toHaveLength(3);
  });

  it('rejects disagreeing Basic and form credentials with invalid_request', async () => {
    const code = await getCode();
    const res = await post(
      'token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: OTHER_ID, client_secret: OTHER_SECRET },
      { Authorization: basic(CLIENT_ID, CLIENT_SECRET) },
    );
    expect(res.status).toBe(400);
    expect(errorOf(res)).toBe('invalid_request');
  });

  it('rejects a reused code', async () => {
    const code = await getCode();
    tokens(await exchange(code));
    const res = await exchange(code);
    expect(res.status).toBe(400);
    expect(errorOf(res)).toBe('invalid_grant');
  });

  it('rejects an expired code', async () => {
    const code = await getCode();
    standin.advanceClock(61);
    const res = await exchange(code);
    expect(res.status).toBe(400);
    expect(errorOf(res)).toBe('invalid_grant');
  });

  it('rejects a redirect_uri different from the one bound to the code', async () => {
    const code = await getCode();
    const res = await exchange(code, { redirect_uri: REDIRECT_WITH_QUERY });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toBe('invalid_grant');
  });

  it("rejects another client's code and unknown codes", async () => {
    const code = await getCode();
    const other = await exchange(code, { client_id: OTHER_ID, client_secret: OTHER_SECRET });
    expect(errorOf(other)).toBe('invalid_grant');
    expect(errorOf(await exchange('made-up'))).toBe('invalid_grant');
  });

  it('answers 401 invalid_client for a wrong secret or an unknown client', async () => {
    const code = await getCode();
    const viaBasic = await post(
      'token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { Authorization: basic(CLIENT_ID, 'wrong') },
    );
    expect(viaBasic.status).toBe(401);
    expect(errorOf(viaBasic)).toBe('invalid_client');
    expect(viaBasic.headers['www-authenticate']).toMatch(/^Basic/);
    const viaForm = await exchange(code, { client_secret: 'wrong' });
    expect(viaForm.status).toBe(401);
    expect(errorOf(viaForm)).toBe('invalid_client');
    const unknown = await exchange(code, { client_id: 'nope' });
    expect(unknown.status).toBe(401);
    const none = await post('token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(none.status).toBe(401);
    // The failed attempts never reached the code: it still works.
    tokens(await exchange(code));
  });

  it('answers invalid_request for missing parameters and unsupported_grant_type for others', async () => {
    expect(errorOf(await post('token', { ...formAuth }))).toBe('invalid_request');
    expect(errorOf(await post('token', { ...formAuth, grant_type: 'authorization_code', redirect_uri: REDIRECT }))).toBe(
      'invalid_request',
    );
    expect(errorOf(await post('token', { ...formAuth, grant_type: 'refresh_token' }))).toBe('invalid_request');
    const cc = await post('token', { ...formAuth, grant_type: 'client_credentials' });
    expect(cc.status).toBe(400);
    expect(errorOf(cc)).toBe('unsupported_grant_type');
    const json = await request(standin.url + ANAF_PATHS.token, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token' }),
    });
    expect(errorOf(json)).toBe('invalid_request');
  });

  it('issues RS256 JWTs naming the certificate, verifiable with publicJwk', async () => {
    const t = await login();
    const key = await importJWK(standin.publicJwk, 'RS256');
    const { payload, protectedHeader } = await jwtVerify(t.access_token, key, { issuer: standin.url, audience: CLIENT_ID });
    expect(protectedHeader.alg).toBe('RS256');
    const cert = new X509Certificate(pki.client.certPem);
    expect(payload.sub).toBe('CN=POPESCU ION,serialNumber=PNORO-1800101123456,GN=ION,SN=POPESCU,C=RO');
    expect(payload.cert_serial).toBe(cert.serialNumber.toUpperCase());
    expect(payload.cnf).toEqual({ 'x5t#S256': createHash('sha256').update(cert.raw).digest('base64url') });
    expect(payload.token_use).toBe('access');
    expect(typeof payload.jti).toBe('string');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(90 * 86400);

    const r = await jwtVerify(t.refresh_token, key, { issuer: standin.url, audience: CLIENT_ID });
    expect(r.payload.token_use).toBe('refresh');
    expect(r.payload.sub).toBe(payload.sub);
    expect((r.payload.exp ?? 0) - (r.payload.iat ?? 0)).toBeGreaterThanOrEqual(365 * 86400 - 2);
  });
});

describe('token: refresh_token', () => {
  it('rotates: new access and refresh tokens, the old refresh token is dead', async () => {
    const first = await login();
    const second = tokens(await refresh(first.refresh_token));
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const reuse = await refresh(first.refresh_token);
    expect(reuse.status).toBe(400);
    expect(errorOf(reuse)).toBe('invalid_grant');
    tokens(await refresh(second.refresh_token));
    expect(standin.counters.grants).toEqual({ authorization_code: 1, refresh_token: 3 });
  });

  it('keeps the authorization-time expiry on rotation unless told to extend it', async () => {
    const first = await login();
    const exp0 = decodeJwt(first.refresh_token).exp;
    standin.advanceClock(10 * 86400);
    const second = tokens(await refresh(first.refresh_token));
    expect(decodeJwt(second.refresh_token).exp).toBe(exp0);
    standin.setOptions({ refreshRotationExtends: true });
    const third = tokens(await refresh(second.refresh_token));
    expect(decodeJwt(third.refresh_token).exp).toBeGreaterThanOrEqual((exp0 ?? 0) + 10 * 86400 - 2);
  });

  it('rejects an expired refresh token', async () => {
    const first = await login();
    standin.advanceClock(365 * 86400 + 1);
    expect(errorOf(await refresh(first.refresh_token))).toBe('invalid_grant');
  });

  it("rejects unknown refresh tokens and another client's", async () => {
    const first = await login();
    expect(errorOf(await refresh('nope'))).toBe('invalid_grant');
    const other = await refresh(first.refresh_token, { client_id: OTHER_ID, client_secret: OTHER_SECRET });
    expect(errorOf(other)).toBe('invalid_grant');
    tokens(await refresh(first.refresh_token));
  });

  it('can issue opaque refresh tokens', async () => {
    standin.setOptions({ refreshTokenFormat: 'opaque' });
    const first = await login();
    expect(first.refresh_token.split('.')).toHaveLength(1);
    expect(decodeJwt(first.access_token).token_use).toBe('access');
    const second = tokens(await refresh(first.refresh_token));
    expect(errorOf(await refresh(first.refresh_token))).toBe('invalid_grant');
    expect(second.refresh_token).not.toBe(first.refresh_token);
  });
});

describe('revoke', () => {
  it('revoking the refresh token makes the next refresh fail', async () => {
    const t = await login();
    const res = await post('revoke', { ...formAuth, token: t.refresh_token, token_type_hint: 'refresh_token' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(errorOf(await refresh(t.refresh_token))).toBe('invalid_grant');
  });

  it('revoking the access token (access_token field) makes hello answer 401', async () => {
    const t = await login();
    expect((await hello(t.access_token)).status).toBe(200);
    const res = await post('revoke', { access_token: t.access_token }, { Authorization: basic(CLIENT_ID, CLIENT_SECRET) });
    expect(res.status).toBe(200);
    expect((await hello(t.access_token)).status).toBe(401);
    tokens(await refresh(t.refresh_token));
  });

  it('answers 200 for unknown tokens and 401 for a bad client', async () => {
    expect((await post('revoke', { ...formAuth, token: 'unknown' })).status).toBe(200);
    const bad = await post('revoke', { client_id: CLIENT_ID, client_secret: 'wrong', token: 'x' });
    expect(bad.status).toBe(401);
    expect(errorOf(bad)).toBe('invalid_client');
    const badBasic = await post('revoke', { token: 'x' }, { Authorization: basic(CLIENT_ID, 'wrong') });
    expect(badBasic.headers['www-authenticate']).toMatch(/^Basic/);
  });
});

describe('hello', () => {
  it('answers 200 for a valid access token and 401 otherwise', async () => {
    const t = await login();
    const ok = await hello(t.access_token, 'test');
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('Hello test');
    expect((await hello(undefined)).status).toBe(401);
    expect((await hello('garbage')).status).toBe(401);
    expect((await hello(t.refresh_token)).status).toBe(401);
    const parts = t.access_token.split('.');
    expect((await hello(`${parts[0]}.${parts[1]}.${'A'.repeat(parts[2]?.length ?? 10)}`)).status).toBe(401);
    standin.advanceClock(90 * 86400 + 1);
    expect((await hello(t.access_token)).status).toBe(401);
  });
});

describe('routing', () => {
  it('answers 404 for other paths, 405 for other methods, 413 for large bodies', async () => {
    expect((await request(standin.url + '/anaf-oauth2/v1/other')).status).toBe(404);
    const get = await request(standin.url + ANAF_PATHS.token);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await request(standin.url + ANAF_PATHS.authorize, { method: 'POST', cert: pki.client })).status).toBe(405);
    const big = await post('token', { ...formAuth, grant_type: 'refresh_token', refresh_token: 'x'.repeat(70 * 1024) });
    expect(big.status).toBe(413);
  });
});

describe('faults', () => {
  it('delays the answer', async () => {
    const t = await login();
    standin.setFaults({ delayMs: 400 });
    const t0 = Date.now();
    tokens(await refresh(t.refresh_token));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
  });

  it('answers an HTML 503 instead of the real answer, and the grant is not consumed', async () => {
    const t = await login();
    standin.setFaults({ status: 503 });
    const res = await refresh(t.refresh_token);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toContain('text/html');
    standin.clearFaults();
    tokens(await refresh(t.refresh_token));
  });

  it('answers 200 with malformed JSON', async () => {
    const t = await login();
    standin.setFaults({ malformedJson: true });
    const res = await refresh(t.refresh_token);
    expect(res.status).toBe(200);
    expect(() => JSON.parse(res.body) as unknown).toThrow();
  });

  it('drops the connection', async () => {
    const t = await login();
    standin.setFaults({ dropConnection: true });
    await expect(refresh(t.refresh_token)).rejects.toThrow();
    expect(standin.counters.requests.token).toBe(2);
    expect(standin.counters.grants.refresh_token).toBe(1);
  });

  it('clears itself after `times` requests and applies only to the listed endpoints', async () => {
    const t = await login();
    standin.setFaults({ status: 502, times: 2 });
    expect((await refresh(t.refresh_token)).status).toBe(502);
    // authorize is not in the default endpoint list
    expect((await authorize()).res.status).toBe(302);
    expect((await post('revoke', { ...formAuth, token: 'unknown' })).status).toBe(502);
    tokens(await refresh(t.refresh_token));

    standin.setFaults({ status: 503, endpoints: ['hello', 'authorize'] });
    expect((await hello('x')).status).toBe(503);
    expect((await authorize()).res.status).toBe(503);
    expect((await post('revoke', { ...formAuth, token: 'unknown' })).status).toBe(200);
  });

  it('afterProcessing loses the answer after the refresh token was rotated', async () => {
    const t = await login();
    standin.setFaults({ dropConnection: true, afterProcessing: true, times: 1 });
    await expect(refresh(t.refresh_token)).rejects.toThrow();
    expect(standin.issued.refreshTokens).toHaveLength(2);
    expect(errorOf(await refresh(t.refresh_token))).toBe('invalid_grant');
  });
});

describe('counters and issued', () => {
  it('counts every request per endpoint and token requests per grant type', async () => {
    const t = await login();
    await refresh(t.refresh_token);
    await refresh('bad');
    await post('token', { ...formAuth, grant_type: 'password' });
    await hello(t.access_token);
    await post('revoke', { ...formAuth, token: 'x' });
    standin.setFaults({ status: 500, endpoints: ['authorize'] });
    await authorize();
    expect(standin.counters).toEqual({
      requests: { authorize: 2, token: 4, revoke: 1, hello: 1 },
      grants: { authorization_code: 1, refresh_token: 2 },
    });
    expect(standin.issued.codes).toHaveLength(1);
    expect(standin.issued.accessTokens).toHaveLength(2);
    standin.resetCounters();
    expect(standin.counters).toEqual({
      requests: { authorize: 0, token: 0, revoke: 0, hello: 0 },
      grants: { authorization_code: 0, refresh_token: 0 },
    });
    expect(standin.issued.accessTokens).toHaveLength(2);
  });
});

describe('options', () => {
  it('honours TTL options given at start', async () => {
    await restart({ accessTokenTtlSec: 100, refreshTokenTtlSec: 1000, codeTtlSec: 5 });
    const code = await getCode();
    standin.advanceClock(6);
    expect(errorOf(await exchange(code))).toBe('invalid_grant');
    const t = await login();
    expect(t.expires_in).toBe(100);
    const claims = decodeJwt(t.refresh_token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(1000);
  });

  it('binds to loopback only', async () => {
    await expect(startAnafStandin(baseOptions({ host: '0.0.0.0' }))).rejects.toThrow(/loopback/);
  });
});

describe('main.ts', () => {
  it('prints {url, caFile, pid} and stops on SIGTERM', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const tsx = path.resolve(here, '../../node_modules/.bin/tsx');
    const child = spawn(tsx, [path.join(here, 'main.ts'), '--dir', pkiDir, '--client-id', 'cid', '--client-secret', 'sec', '--redirect-uri', REDIRECT], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const nl = out.indexOf('\n');
          if (nl >= 0) resolve(out.slice(0, nl));
        });
        child.on('exit', (code) => reject(new Error(`exited early with ${code}`)));
      });
      const info = JSON.parse(line) as { url: string; caFile: string; pid: number };
      expect(info.caFile).toBe(pki.ca.certFile);
      expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const q = new URLSearchParams({ response_type: 'code', client_id: 'cid', redirect_uri: REDIRECT, state: 's' });
      const res = await request(`${info.url}${ANAF_PATHS.authorize}?${q.toString()}`, { cert: pki.client });
      expect(res.status).toBe(302);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      process.kill(info.pid, 'SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
    }
  });
});
