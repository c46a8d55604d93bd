import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../pki/make-pki.js';
import { serialColonHex } from './jwt.js';
import { ANAF_PATHS, certSerialColonHex, startAnafStandin, type AnafStandin, type Dialect, type StandinOptions } from './server.js';

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
/** Dialect the enclosing describe asks for; undefined leaves the stand-in's default. */
let suiteDialect: Dialect | undefined;

function inDialect(d: Dialect): void {
  beforeAll(() => {
    suiteDialect = d;
  });
  afterAll(() => {
    suiteDialect = undefined;
  });
}

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
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
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

async function authorize(params: Record<string, string> = {}, cert: ReqOpts['cert'] | null = pki.client): Promise<{ res: Res; location: URL | undefined }> {
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

function bodyOf(res: Res): unknown {
  return JSON.parse(res.body) as unknown;
}

/** What each dialect answers for a refresh token it will not honour (anaf: default deadGrantError). */
function deadRefreshError(d: Dialect): string {
  return d === 'anaf' ? 'invalid_request' : 'invalid_grant';
}

/** What each dialect answers for a code it will not honour. */
function badCodeError(d: Dialect): string {
  return d === 'anaf' ? 'invalid_request' : 'invalid_grant';
}

/** Revoke's status for a well-formed request: RFC 7009's 200, or ANAF's 302 to its login wall. */
function revokeStatus(d: Dialect): number {
  return d === 'anaf' ? 302 : 200;
}

const DEAD_REFRESH = { error: 'invalid_request', error_description: 'Refresh Token status is expired' };
const ANAF_CHALLENGE = 'Basic realm="anaf-oauth2"';

// Read the serial straight from the DER so the expected value does not come from the code under test.
function derSerialBytes(der: Buffer): Buffer {
  let i = 0;
  const header = (): { tag: number; len: number } => {
    const tag = der.readUInt8(i++);
    let len = der.readUInt8(i++);
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + der.readUInt8(i++);
    }
    return { tag, len };
  };
  header(); // Certificate
  header(); // tbsCertificate
  let h = header();
  if (h.tag === 0xa0) {
    i += h.len; // [0] version
    h = header();
  }
  if (h.tag !== 0x02) throw new Error('serial is not an INTEGER');
  const bytes = der.subarray(i, i + h.len);
  return bytes.length > 1 && bytes[0] === 0 ? bytes.subarray(1) : bytes;
}

function colonHex(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
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
    ...(suiteDialect ? { dialect: suiteDialect } : {}),
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

describe('certSerialColonHex', () => {
  it('gives the DER serial bytes as lowercase colon hex', () => {
    for (const pem of [pki.client.certPem, pki.clientEc.certPem]) {
      const expected = colonHex(derSerialBytes(new X509Certificate(pem).raw));
      expect(certSerialColonHex(pem)).toBe(expected);
      expect(expected).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
    }
  });

  it('drops the DER sign byte of a serial whose top bit is set', () => {
    const pem = execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        '/dev/null',
        '-subj',
        '/CN=sign byte',
        '-set_serial',
        '0x80a10003',
        '-days',
        '1',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const der = new X509Certificate(pem).raw;
    // The INTEGER really carries the 00 sign byte: 02 05 00 80 a1 00 03.
    expect(der.includes(Buffer.from([0x02, 0x05, 0x00, 0x80, 0xa1, 0x00, 0x03]))).toBe(true);
    expect(certSerialColonHex(pem)).toBe('80:a1:00:03');
  });

  it('pads to whole bytes and strips leading zero bytes', () => {
    expect(serialColonHex('ABC')).toBe('0a:bc');
    expect(serialColonHex('00F1')).toBe('f1');
    expect(serialColonHex('0')).toBe('00');
    expect(serialColonHex('4A1F0003')).toBe('4a:1f:00:03');
  });
});

describe.each(['anaf', 'rfc'] as const)('%s dialect: shared behaviour', (d) => {
  inDialect(d);

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
  });

  describe('token: client authentication and parameters', () => {
    it('exchanges a code with HTTP Basic client authentication', async () => {
      const code = await getCode();
      const res = await post('token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, { Authorization: basic(CLIENT_ID, CLIENT_SECRET) });
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

    it('answers 401 invalid_client for a wrong secret or an unknown client', async () => {
      const code = await getCode();
      const viaBasic = await post('token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, { Authorization: basic(CLIENT_ID, 'wrong') });
      expect(viaBasic.status).toBe(401);
      expect(errorOf(viaBasic)).toBe('invalid_client');
      expect(viaBasic.headers['www-authenticate']).toBe(ANAF_CHALLENGE);
      const viaForm = await exchange(code, { client_secret: 'wrong' });
      expect(viaForm.status).toBe(401);
      expect(errorOf(viaForm)).toBe('invalid_client');
      // RFC 6749 5.2 only asks for the challenge when Basic was tried; ANAF's front always sends it.
      expect(viaForm.headers['www-authenticate']).toBe(d === 'anaf' ? ANAF_CHALLENGE : undefined);
      const unknown = await exchange(code, { client_id: 'nope' });
      expect(unknown.status).toBe(401);
      const none = await post('token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe(ANAF_CHALLENGE);
      // The failed attempts never reached the code: it still works.
      tokens(await exchange(code));
    });

    it('sends no WWW-Authenticate with invalid_client when invalidClientChallenge is false', async () => {
      standin.setOptions({ invalidClientChallenge: false });
      const code = await getCode();
      const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT };
      const attempts = [
        await post('token', form, { Authorization: basic(CLIENT_ID, 'wrong') }),
        await exchange(code, { client_secret: 'wrong' }),
        await post('token', form),
        await post('token', form, { Authorization: 'Basic %%%' }),
      ];
      for (const res of attempts) {
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toContain('application/json');
        expect(errorOf(res)).toBe('invalid_client');
        expect(res.headers['www-authenticate']).toBeUndefined();
      }
      standin.setOptions({ invalidClientChallenge: true });
      const again = await exchange(code, { client_secret: 'wrong' });
      expect(again.headers['www-authenticate']).toBe(d === 'anaf' ? ANAF_CHALLENGE : undefined);
      tokens(await exchange(code));
    });

    it("clientAuth 'basic' refuses form credentials as if they were wrong", async () => {
      await restart({ clientAuth: 'basic' });
      const code = await getCode();
      const viaForm = await exchange(code);
      expect(viaForm.status).toBe(401);
      expect(bodyOf(viaForm)).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
      const viaBasic = await post(
        'token',
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CLIENT_ID, client_secret: 'ignored' },
        { Authorization: basic(CLIENT_ID, CLIENT_SECRET) },
      );
      tokens(viaBasic);
    });

    it("clientAuth 'post' refuses Basic credentials as if they were wrong", async () => {
      await restart({ clientAuth: 'post' });
      const code = await getCode();
      const viaBasic = await post(
        'token',
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
        { Authorization: basic(CLIENT_ID, CLIENT_SECRET) },
      );
      expect(viaBasic.status).toBe(401);
      expect(bodyOf(viaBasic)).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
      expect(viaBasic.headers['www-authenticate']).toBe(ANAF_CHALLENGE);
      tokens(await exchange(code));
    });

    it("clientAuth can be switched with setOptions and 'both' is the default", async () => {
      const a = await login();
      standin.setOptions({ clientAuth: 'post' });
      const basicRefresh = await post(
        'token',
        { grant_type: 'refresh_token', refresh_token: a.refresh_token },
        { Authorization: basic(CLIENT_ID, CLIENT_SECRET) },
      );
      expect(basicRefresh.status).toBe(401);
      standin.setOptions({ clientAuth: 'both' });
      tokens(await post('token', { grant_type: 'refresh_token', refresh_token: a.refresh_token }, { Authorization: basic(CLIENT_ID, CLIENT_SECRET) }));
    });

    it('answers invalid_request for missing parameters and unsupported_grant_type for others', async () => {
      expect(errorOf(await post('token', { ...formAuth }))).toBe('invalid_request');
      expect(errorOf(await post('token', { ...formAuth, grant_type: 'authorization_code', redirect_uri: REDIRECT }))).toBe('invalid_request');
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

    it('rejects a reused code, an expired code and an unknown code', async () => {
      const code = await getCode();
      tokens(await exchange(code));
      const reused = await exchange(code);
      expect(reused.status).toBe(400);
      expect(errorOf(reused)).toBe(badCodeError(d));
      const late = await getCode();
      standin.advanceClock(61);
      const expired = await exchange(late);
      expect(expired.status).toBe(400);
      expect(errorOf(expired)).toBe(badCodeError(d));
      expect(errorOf(await exchange('made-up'))).toBe(badCodeError(d));
    });

    it('accepts a code 59 seconds after it was issued', async () => {
      const code = await getCode();
      standin.advanceClock(59);
      tokens(await exchange(code));
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
      expect(errorOf(reuse)).toBe(deadRefreshError(d));
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

    it('can issue opaque refresh tokens', async () => {
      standin.setOptions({ refreshTokenFormat: 'opaque' });
      const first = await login();
      expect(first.refresh_token.split('.')).toHaveLength(1);
      expect(decodeJwt(first.access_token).token_use).toBe(d === 'rfc' ? 'access' : undefined);
      expect((await hello(first.access_token)).status).toBe(200);
      const second = tokens(await refresh(first.refresh_token));
      expect(errorOf(await refresh(first.refresh_token))).toBe(deadRefreshError(d));
      expect(second.refresh_token).not.toBe(first.refresh_token);
    });
  });

  describe('routing', () => {
    it('answers 405 for other methods and 413 for large bodies', async () => {
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

    it('waf answers the F5 rejection page with HTTP 200, and the grant is not consumed', async () => {
      const t = await login();
      standin.setFaults({ waf: true, times: 2 });
      const first = await refresh(t.refresh_token);
      expect(first.status).toBe(200);
      expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(first.body).toContain('The requested URL was rejected. Please consult with your administrator.');
      const id1 = /Your support ID is: (\d{20})</.exec(first.body)?.[1];
      expect(id1).toMatch(/^[1-9]\d{19}$/);
      const second = await refresh(t.refresh_token);
      const id2 = /Your support ID is: (\d{20})</.exec(second.body)?.[1];
      expect(id2).toMatch(/^\d{20}$/);
      expect(id2).not.toBe(id1);
      tokens(await refresh(t.refresh_token));
      expect(standin.issued.refreshTokens).toHaveLength(2);
    });

    it('waf can hit the hello endpoint', async () => {
      const t = await login();
      standin.setFaults({ waf: true, endpoints: ['hello'], times: 1 });
      const res = await hello(t.access_token);
      expect(res.status).toBe(200);
      expect(res.body).toContain('The requested URL was rejected.');
      expect(res.body).not.toContain('Hello');
      expect((await hello(t.access_token)).body).toMatch(/^Hello x/);
    });

    it('rateLimit answers 429 too_many_requests with Retry-After: 60', async () => {
      const t = await login();
      standin.setFaults({ rateLimit: true, times: 1 });
      const res = await refresh(t.refresh_token);
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('60');
      expect(res.headers['content-type']).toContain('application/json');
      const b = bodyOf(res) as { error: string; error_description: string };
      expect(Object.keys(b).sort()).toEqual(['error', 'error_description']);
      expect(b.error).toBe('too_many_requests');
      expect(b.error_description).toContain('1000');
      tokens(await refresh(t.refresh_token));
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
      expect((await post('revoke', { ...formAuth, token: 'unknown' })).status).toBe(revokeStatus(d));
    });

    it('afterProcessing loses the answer after the refresh token was rotated', async () => {
      const t = await login();
      standin.setFaults({ dropConnection: true, afterProcessing: true, times: 1 });
      await expect(refresh(t.refresh_token)).rejects.toThrow();
      expect(standin.issued.refreshTokens).toHaveLength(2);
      expect(errorOf(await refresh(t.refresh_token))).toBe(deadRefreshError(d));
    });

    it('afterProcessing with rateLimit: the refresh token was rotated behind the 429', async () => {
      const t = await login();
      standin.setFaults({ rateLimit: true, afterProcessing: true, times: 1 });
      expect((await refresh(t.refresh_token)).status).toBe(429);
      expect(standin.issued.refreshTokens).toHaveLength(2);
      expect(errorOf(await refresh(t.refresh_token))).toBe(deadRefreshError(d));
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
      expect(errorOf(await exchange(code))).toBe(badCodeError(d));
      const t = await login();
      expect(t.expires_in).toBe(100);
      const claims = decodeJwt(t.refresh_token);
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(1000);
    });

    it('publicJwk carries the alg of the dialect', () => {
      expect(standin.publicJwk.alg).toBe(d === 'anaf' ? 'RS512' : 'RS256');
      expect(standin.publicJwk.kty).toBe('RSA');
      expect(standin.publicJwk.d).toBeUndefined();
    });
  });
});

describe('rfc dialect', () => {
  inDialect('rfc');

  it('puts the certificate subject DN in sub, also for an EC P-256 client certificate', async () => {
    const t = await login(pki.clientEc);
    const claims = decodeJwt(t.access_token);
    expect(claims.sub).toBe('CN=IONESCU MARIA,C=RO');
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

  it('ignores deadGrantError: a dead refresh token is invalid_grant with its own description', async () => {
    standin.setOptions({ deadGrantError: 'invalid_request' });
    expect(bodyOf(await refresh('nope'))).toEqual({ error: 'invalid_grant', error_description: 'Unknown refresh token' });
  });

  it('does not cap the access token at the refresh end unless asked to', async () => {
    await restart({ accessTokenTtlSec: 5000, refreshTokenTtlSec: 1000 });
    const t = await login();
    expect(t.expires_in).toBe(5000);
    const a = decodeJwt(t.access_token);
    expect((a.exp ?? 0) - (a.iat ?? 0)).toBe(5000);
    standin.setOptions({ capAccessAtRefreshEnd: true });
    const capped = await login();
    const c = decodeJwt(capped.access_token);
    expect(c.exp).toBe(decodeJwt(capped.refresh_token).exp);
    expect(capped.expires_in).toBe((c.exp ?? 0) - (c.iat ?? 0));
    expect(capped.expires_in).toBeLessThanOrEqual(1000);
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
    it('answers 404 for other paths, the login wall path included', async () => {
      expect((await request(standin.url + '/anaf-oauth2/v1/other')).status).toBe(404);
      expect((await request(standin.url + '/my.policy')).status).toBe(404);
    });
  });
});

describe('anaf dialect (the default)', () => {
  const CLAIMS = ['clientappid', 'exp', 'iat', 'iss', 'issuer', 'jti', 'nbf', 'roles', 'scope', 'serial', 'sub', 'token_type'];

  describe('tokens', () => {
    it('signs RS512 JWTs with kid anaf_2023_2024, verifiable with publicJwk', async () => {
      expect(standin.publicJwk.alg).toBe('RS512');
      const t = await login();
      const key = await importJWK(standin.publicJwk, 'RS512');
      for (const token of [t.access_token, t.refresh_token]) {
        expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS512', typ: 'JWT', kid: 'anaf_2023_2024' });
        const { payload } = await jwtVerify(token, key, { issuer: 'https://logincert.anaf.ro', algorithms: ['RS512'] });
        expect(Object.keys(payload).sort()).toEqual(CLAIMS);
      }
      // An RS256 verifier must refuse it: the alg really is RS512.
      await expect(jwtVerify(t.access_token, key, { algorithms: ['RS256'] })).rejects.toThrow();
    });

    it("carries ANAF's claims: serial, sub, issuer, clientappid, roles, scope; no subject DN", async () => {
      const t = await login();
      const serial = colonHex(derSerialBytes(new X509Certificate(pki.client.certPem).raw));
      const a = decodeJwt(t.access_token);
      expect(a).toMatchObject({
        iss: 'https://logincert.anaf.ro',
        token_type: 'Bearer',
        scope: 'clientappid info issuer role serial',
        clientappid: CLIENT_ID,
        serial,
        sub: serial.replace(/:/g, ''),
        issuer: 'ANAF Stand-in Test CA',
        roles: 'HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA',
      });
      expect(a.serial).toBe(certSerialColonHex(pki.client.certPem));
      expect(a.nbf).toBe(a.iat);
      expect((a.exp ?? 0) - (a.iat ?? 0)).toBe(90 * 86400);
      expect(t.expires_in).toBe(90 * 86400);
      for (const token of [t.access_token, t.refresh_token]) {
        const text = JSON.stringify(decodeJwt(token));
        expect(text).not.toContain('POPESCU');
        expect(text).not.toContain('PNORO');
      }
      const r = decodeJwt(t.refresh_token);
      const { exp: rExp, jti: rJti, ...rRest } = r;
      const { exp: aExp, jti: aJti, ...aRest } = a;
      expect(rRest).toEqual(aRest);
      const rIat = r.iat;
      expect(rJti).not.toBe(aJti);
      expect(rExp).not.toBe(aExp);
      expect((rExp ?? 0) - (rIat ?? 0)).toBeGreaterThanOrEqual(365 * 86400 - 2);
      expect((rExp ?? 0) - (rIat ?? 0)).toBeLessThanOrEqual(365 * 86400);
    });

    it('names the EC certificate by its serial too', async () => {
      const t = await login(pki.clientEc);
      const a = decodeJwt(t.access_token);
      expect(a.serial).toBe(colonHex(derSerialBytes(new X509Certificate(pki.clientEc.certPem).raw)));
      expect(a.sub).toBe(String(a.serial).replace(/:/g, ''));
    });

    it('gives two tokens issued in the same second different values', async () => {
      const [x, y] = await Promise.all([login(), login()]);
      expect(x?.access_token).not.toBe(y?.access_token);
      expect(x?.refresh_token).not.toBe(y?.refresh_token);
      expect(decodeJwt(x?.access_token ?? '').jti).not.toBe(decodeJwt(y?.access_token ?? '').jti);
    });
  });

  describe('codes', () => {
    it('answers 400 invalid_request for a reused, expired, unknown or foreign code', async () => {
      const stale = { error: 'invalid_request', error_description: 'Invalid authorization code' };
      const code = await getCode();
      tokens(await exchange(code));
      const reused = await exchange(code);
      expect(reused.status).toBe(400);
      expect(bodyOf(reused)).toEqual(stale);

      const late = await getCode();
      standin.advanceClock(60);
      const expired = await exchange(late);
      expect(expired.status).toBe(400);
      expect(bodyOf(expired)).toEqual(stale);

      expect(bodyOf(await exchange('made-up'))).toEqual(stale);

      const foreign = await getCode();
      expect(bodyOf(await exchange(foreign, { client_id: OTHER_ID, client_secret: OTHER_SECRET }))).toEqual(stale);
      // A failed presentation consumed it.
      expect(bodyOf(await exchange(foreign))).toEqual(stale);
    });

    it('answers invalid_request "Redirect-URI (...) does not match" for another redirect_uri', async () => {
      const code = await getCode();
      const res = await exchange(code, { redirect_uri: REDIRECT_WITH_QUERY });
      expect(res.status).toBe(400);
      expect(bodyOf(res)).toEqual({
        error: 'invalid_request',
        error_description: `Redirect-URI (${REDIRECT_WITH_QUERY}) does not match with client app configuration.`,
      });
    });
  });

  describe('dead refresh tokens', () => {
    it('answers 400 invalid_request "Refresh Token status is expired" for used, unknown, foreign or expired', async () => {
      const first = await login();
      tokens(await refresh(first.refresh_token));
      const used = await refresh(first.refresh_token);
      expect(used.status).toBe(400);
      expect(used.headers['content-type']).toContain('application/json');
      expect(bodyOf(used)).toEqual(DEAD_REFRESH);
      expect(bodyOf(await refresh('nope'))).toEqual(DEAD_REFRESH);

      const second = await login();
      expect(bodyOf(await refresh(second.refresh_token, { client_id: OTHER_ID, client_secret: OTHER_SECRET }))).toEqual(DEAD_REFRESH);
      standin.advanceClock(365 * 86400 + 1);
      const expired = await refresh(second.refresh_token);
      expect(expired.status).toBe(400);
      expect(bodyOf(expired)).toEqual(DEAD_REFRESH);
    });

    it('answers invalid_grant with the same description when deadGrantError says so', async () => {
      await restart({ deadGrantError: 'invalid_grant' });
      const t = await login();
      tokens(await refresh(t.refresh_token));
      const used = await refresh(t.refresh_token);
      expect(used.status).toBe(400);
      expect(bodyOf(used)).toEqual({ error: 'invalid_grant', error_description: 'Refresh Token status is expired' });
      standin.setOptions({ deadGrantError: 'invalid_request' });
      expect(bodyOf(await refresh(t.refresh_token))).toEqual(DEAD_REFRESH);
    });

    it('answers the same for a refresh token revoked while the stand-in spoke rfc', async () => {
      const t = await login();
      standin.setOptions({ dialect: 'rfc' });
      expect((await post('revoke', { ...formAuth, token: t.refresh_token })).status).toBe(200);
      standin.setOptions({ dialect: 'anaf' });
      expect(bodyOf(await refresh(t.refresh_token))).toEqual(DEAD_REFRESH);
    });
  });

  describe('revoke and the login wall', () => {
    it('answers 302 to /my.policy for any revoke request and revokes nothing', async () => {
      const t = await login();
      const attempts = [
        await post('revoke', { ...formAuth, token: t.refresh_token, token_type_hint: 'refresh_token' }),
        await post('revoke', { token: t.access_token }, { Authorization: basic(CLIENT_ID, CLIENT_SECRET) }),
        await post('revoke', { client_id: CLIENT_ID, client_secret: 'wrong', token: 'x' }),
        await request(standin.url + ANAF_PATHS.revoke),
      ];
      for (const res of attempts) {
        expect(res.status).toBe(302);
        expect(res.headers.location).toBe('/my.policy');
        expect(res.body).toBe('');
        expect(res.headers['www-authenticate']).toBeUndefined();
      }
      expect(standin.counters.requests.revoke).toBe(4);
      const h = await hello(t.access_token, 'test');
      expect(h.status).toBe(200);
      tokens(await refresh(t.refresh_token));
    });

    it('answers an unknown path with the same bytes as revoke', async () => {
      const pick = (r: Res): unknown => ({
        status: r.status,
        location: r.headers.location,
        type: r.headers['content-type'],
        length: r.headers['content-length'],
        cache: r.headers['cache-control'],
        body: r.body,
      });
      const revoke = await post('revoke', { ...formAuth, token: 'x' });
      for (const p of ['/anaf-oauth2/v1/other', '/', '/anaf-oauth2/v1/revoke/']) {
        expect(pick(await request(standin.url + p))).toEqual(pick(revoke));
      }
      expect(pick(await request(standin.url + '/nope', { method: 'POST', body: 'a=1' }))).toEqual(pick(revoke));
      expect(standin.counters.requests.revoke).toBe(1);
    });

    it('serves a login-wall page at /my.policy', async () => {
      const res = await request(standin.url + '/my.policy');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('<title>Autentificare</title>');
    });

    it('lets faults hit revoke like any endpoint', async () => {
      standin.setFaults({ rateLimit: true, times: 1 });
      expect((await post('revoke', { ...formAuth, token: 'x' })).status).toBe(429);
      expect((await post('revoke', { ...formAuth, token: 'x' })).status).toBe(302);
    });
  });

  describe('hello', () => {
    it('echoes the name and the request headers with the certificate serial', async () => {
      const t = await login();
      const res = await request(`${standin.url}${ANAF_PATHS.hello}?name=test`, {
        headers: { Authorization: `Bearer ${t.access_token}`, 'X-Probe': 'p1', Cookie: 'sid=secret-cookie' },
      });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      const lines = res.body.split('\n');
      expect(lines[0]).toBe('Hello test');
      expect(lines).toContain(`serial: ${certSerialColonHex(pki.client.certPem)}`);
      expect(lines).toContain('issuer: ANAF Stand-in Test CA');
      expect(lines).toContain(`clientappid: ${CLIENT_ID}`);
      expect(lines).toContain('x-probe: p1');
      expect(lines.some((l) => l.startsWith('host: 127.0.0.1:'))).toBe(true);
      expect(res.body).not.toContain(t.access_token);
      expect(res.body).not.toMatch(/authorization|secret-cookie/i);
    });

    it('answers 401 Bearer invalid_token for anything but a live access token it issued', async () => {
      const t = await login();
      const bad = async (token: string | undefined): Promise<void> => {
        const res = await hello(token);
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      };
      await bad(undefined);
      await bad('garbage');
      // Refresh tokens have the access token's shape; the stand-in's records tell them apart.
      await bad(t.refresh_token);
      const parts = t.access_token.split('.');
      await bad(`${parts[0]}.${parts[1]}.${'A'.repeat(parts[2]?.length ?? 10)}`);

      // Same key, same claims shape, but issued by another instance: the helpers talk to
      // whichever instance `standin` holds, so swap it for the duration.
      const mine = standin;
      standin = await startAnafStandin(baseOptions());
      let foreign: string;
      try {
        foreign = (await login()).access_token;
        expect((await hello(foreign)).status).toBe(200);
      } finally {
        await standin.close();
        standin = mine;
      }
      await bad(foreign);

      expect((await hello(t.access_token)).status).toBe(200);
      standin.advanceClock(90 * 86400 - 5);
      expect((await hello(t.access_token)).status).toBe(200);
      standin.advanceClock(6);
      await bad(t.access_token);
    });
  });

  describe('access token capped at the refresh end', () => {
    it('caps exp and expires_in on refresh near the end of the grant', async () => {
      const t = await login();
      const refreshExp = decodeJwt(t.refresh_token).exp ?? 0;
      standin.advanceClock(300 * 86400);
      const late = tokens(await refresh(t.refresh_token));
      const a = decodeJwt(late.access_token);
      expect(decodeJwt(late.refresh_token).exp).toBe(refreshExp);
      expect(a.exp).toBe(refreshExp);
      expect(late.expires_in).toBe(refreshExp - (a.iat ?? 0));
      expect(late.expires_in).toBeGreaterThan(64 * 86400);
      expect(late.expires_in).toBeLessThanOrEqual(65 * 86400);
      // The access token dies with the grant.
      standin.advanceClock(66 * 86400);
      expect((await hello(late.access_token)).status).toBe(401);
    });

    it('caps at authorization when the refresh lifetime is the shorter', async () => {
      await restart({ accessTokenTtlSec: 5000, refreshTokenTtlSec: 1000 });
      const t = await login();
      const a = decodeJwt(t.access_token);
      expect(a.exp).toBe(decodeJwt(t.refresh_token).exp);
      expect(t.expires_in).toBe((a.exp ?? 0) - (a.iat ?? 0));
      expect(t.expires_in).toBeGreaterThanOrEqual(998);
      expect(t.expires_in).toBeLessThanOrEqual(1000);
    });

    it('does not cap with capAccessAtRefreshEnd: false', async () => {
      const t = await login();
      standin.setOptions({ capAccessAtRefreshEnd: false });
      standin.advanceClock(300 * 86400);
      const late = tokens(await refresh(t.refresh_token));
      expect(late.expires_in).toBe(90 * 86400);
      const a = decodeJwt(late.access_token);
      expect((a.exp ?? 0) - (a.iat ?? 0)).toBe(90 * 86400);
      expect(a.exp).toBeGreaterThan(decodeJwt(late.refresh_token).exp ?? 0);
      // undefined goes back to the dialect's default (capped).
      standin.setOptions({ capAccessAtRefreshEnd: undefined });
      const again = tokens(await refresh(late.refresh_token));
      expect(decodeJwt(again.access_token).exp).toBe(decodeJwt(again.refresh_token).exp);
    });
  });
});

describe('loopback', () => {
  it('binds to loopback only', async () => {
    await expect(startAnafStandin(baseOptions({ host: '0.0.0.0' }))).rejects.toThrow(/loopback/);
  });
});

describe('main.ts', () => {
  it('prints {url, caFile, pid} and stops on SIGTERM', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const tsx = path.resolve(here, '../../node_modules/.bin/tsx');
    const child = spawn(
      tsx,
      [path.join(here, 'main.ts'), '--dir', pkiDir, '--client-id', 'cid', '--client-secret', 'sec', '--redirect-uri', REDIRECT, '--dialect', 'rfc'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
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
      // --dialect rfc took effect: an unknown path is a 404, not the anaf login-wall redirect.
      expect((await request(`${info.url}/nope`)).status).toBe(404);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      process.kill(info.pid, 'SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
    }
  });
});
