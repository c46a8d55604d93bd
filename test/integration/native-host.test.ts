/**
 * The native messaging mode as Chrome uses it: registered with `anaf-token install`, started
 * through the launcher with the caller origin, spoken to in length-prefixed JSON frames.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_ID, NATIVE_HOST_NAME, resultSchemas } from '#shared/index.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { runCli } from '../helpers/cli.js';
import { openAuthorize } from '../helpers/browser.js';
import { LARGEST_REQUEST, encodedBytes } from '../helpers/largest-request.js';
import { encodeFrame, startNative, type NativeSession } from '../helpers/native-client.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { tempDir } from '../helpers/temp.js';
import { X509Certificate } from 'node:crypto';
import { normalizeSerialHex } from '#shared/certificate-serial.js';

const CLIENT_ID = 'native-test-client';
const CLIENT_SECRET = `native-secret-${Math.random().toString(36).slice(2)}`;
const REDIRECT = 'https://erp.example.ro/anaf/callback';
const ORIGIN = `chrome-extension://${EXTENSION_ID}/`;

let pki: Pki;
let anaf: AnafStandin;
let home: string;
let userDataDir: string;
let launcher: string;
let env: NodeJS.ProcessEnv;
const answers: string[] = [];

function session(origin = ORIGIN): NativeSession {
  const s = startNative(launcher, [origin], env);
  const next = s.next;
  s.next = async () => {
    const m = await next();
    answers.push(JSON.stringify(m));
    return m;
  };
  return s;
}

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }] });
  home = tempDir('home');
  userDataDir = tempDir('udd');
  env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile };
  const r = await runCli(['install', '--user-data-dir', userDataDir, '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  const manifestFile = path.join(userDataDir, 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { path: string; allowed_origins: string[]; type: string };
  expect(manifest.allowed_origins).toEqual([ORIGIN]);
  expect(manifest.type).toBe('stdio');
  launcher = manifest.path;
  expect(fs.statSync(launcher).mode & 0o111).not.toBe(0);
});

afterAll(async () => {
  const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
  expect(log).toContain('native.request');
  const hits = scanForSecrets([log, ...answers], [CLIENT_SECRET, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens, ...anaf.issued.codes]);
  await anaf.close();
  expect(hits).toEqual([]);
});

describe('native messaging host', () => {
  it('runs the whole life of a token over native messaging', async () => {
    const s = session();
    const hello = await s.request({ id: '1', type: 'hello', protocol: 1 });
    expect(hello).toMatchObject({ id: '1', ok: true, result: { protocol: 1 } });

    const saved = await s.request({
      id: '2',
      type: 'profile.save',
      name: 'firma',
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: REDIRECT,
      env: anaf.url,
    });
    expect(saved).toMatchObject({ ok: true, result: { state: 'none', profile: { name: 'firma', refreshWindowDays: 14 } } });
    expect(JSON.stringify(saved)).not.toContain(CLIENT_SECRET);

    const start = await s.request({ id: '3', type: 'authorize.start', profile: 'firma' });
    const { authorizeUrl, redirectUri } = resultSchemas['authorize.start'].parse(start.result);
    expect(redirectUri).toBe(REDIRECT);
    const browser = await openAuthorize(authorizeUrl, pki.ca.certPem, pki.client);
    const done = await s.request({ id: '4', type: 'authorize.complete', profile: 'firma', callbackUrl: browser.location! });
    expect(done.ok, JSON.stringify(done)).toBe(true);
    const status = resultSchemas['authorize.complete'].parse(done.result);
    expect(status).toMatchObject({ state: 'valid', accessDaysLeft: 89 });
    // ANAF's token names the certificate by serial and issuer, no subject DN.
    expect(status.certificate).toMatchObject({ serialHex: normalizeSerialHex(new X509Certificate(pki.client.certPem).serialNumber), source: 'jwt' });
    expect(status.certificate?.issuer).toBeDefined();

    const refreshed = resultSchemas['token.refresh'].parse((await s.request({ id: '5', type: 'token.refresh', profile: 'firma' })).result);
    expect(refreshed.lastRefreshAt).toBeDefined();
    expect(anaf.counters.grants.refresh_token).toBe(1);

    const due = await s.request({ id: '6', type: 'refresh.due' });
    expect(due).toMatchObject({ ok: true, result: { outcomes: [] } });

    const all = resultSchemas.status.parse((await s.request({ id: '7', type: 'status' })).result);
    expect(all.profiles.map((p) => [p.profile.name, p.state])).toEqual([['firma', 'valid']]);

    // The CLI sees what the extension's host stored: one vault for both.
    const list = JSON.parse((await runCli(['list', '--json'], env)).stdout) as { state: string }[];
    expect(list[0]!.state).toBe('valid');

    // ANAF's revoke endpoint is a login wall: forgotten here, not confirmed there.
    const revoked = await s.request({ id: '8', type: 'token.revoke', profile: 'firma' });
    expect(revoked).toMatchObject({ ok: true, result: { anafConfirmed: false, status: { state: 'none' } } });
    expect(resultSchemas['token.revoke'].parse(revoked.result).anafDetail).toMatch(/302/);
    const again = await s.request({ id: '9', type: 'token.revoke', profile: 'firma' });
    expect(again).toMatchObject({ id: '9', ok: false, error: { code: 'NO_TOKEN' } });
    expect((again.error as { message: { ro: string } }).message.ro).toContain('cheia USB');
    expect((await s.end()).code).toBe(0);
  });

  it('checks the stored token with ANAF on token.check: the verdict is the answer, never the token', async () => {
    const s = session();
    await s.request({
      id: 'c1',
      type: 'profile.save',
      name: 'checked',
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: REDIRECT,
      env: anaf.url,
    });
    const none = await s.request({ id: 'c2', type: 'token.check', profile: 'checked' });
    expect(none).toMatchObject({ id: 'c2', ok: false, error: { code: 'NO_TOKEN' } });
    const start = resultSchemas['authorize.start'].parse((await s.request({ id: 'c3', type: 'authorize.start', profile: 'checked' })).result);
    const browser = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
    expect((await s.request({ id: 'c4', type: 'authorize.complete', profile: 'checked', callbackUrl: browser.location! })).ok).toBe(true);
    anaf.resetCounters();

    const ok = await s.request({ id: 'c5', type: 'token.check', profile: 'checked' });
    expect(ok).toMatchObject({ id: 'c5', ok: true });
    expect(resultSchemas['token.check'].parse(ok.result)).toEqual({ profile: 'checked', result: 'ok', httpStatus: 200, checkedAt: expect.any(String) });

    anaf.setFaults({ status: 503, endpoints: ['hello'] });
    const down = resultSchemas['token.check'].parse((await s.request({ id: 'c6', type: 'token.check', profile: 'checked' })).result);
    expect(down).toMatchObject({ result: 'unavailable', httpStatus: 503 });
    anaf.clearFaults();

    anaf.advanceClock(91 * 86_400);
    try {
      const denied = resultSchemas['token.check'].parse((await s.request({ id: 'c7', type: 'token.check', profile: 'checked' })).result);
      expect(denied).toMatchObject({ result: 'not-authorized', httpStatus: 401, detail: 'ANAF answered 401 invalid_token' });
    } finally {
      anaf.advanceClock(-91 * 86_400);
    }
    expect(anaf.counters.requests.hello).toBe(3);
    expect(anaf.counters.requests.token).toBe(0); // a check never refreshes

    expect(await s.request({ id: 'c8', type: 'token.check', profile: 'checked', force: true })).toMatchObject({
      id: 'c8',
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    expect(await s.request({ id: 'c9', type: 'token.check', profile: 'nobody' })).toMatchObject({ id: 'c9', ok: false, error: { code: 'PROFILE_NOT_FOUND' } });
    expect((await s.end()).code).toBe(0);
  });

  it('profile.save: a new server needs the secret again and drops the tokens; the refresh window alone keeps them', async () => {
    const s = session();
    const base = { type: 'profile.save', name: 'moving', clientId: CLIENT_ID, redirectUri: REDIRECT };
    expect(await s.request({ id: 'm1', ...base, clientSecret: CLIENT_SECRET, env: anaf.url })).toMatchObject({ ok: true, result: { state: 'none' } });
    const start = resultSchemas['authorize.start'].parse((await s.request({ id: 'm2', type: 'authorize.start', profile: 'moving' })).result);
    const browser = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
    expect(await s.request({ id: 'm3', type: 'authorize.complete', profile: 'moving', callbackUrl: browser.location! })).toMatchObject({
      ok: true,
      result: { state: 'valid' },
    });

    const refused = await s.request({ id: 'm4', ...base, env: 'test' });
    expect(refused).toMatchObject({ id: 'm4', ok: false, error: { code: 'SECRET_MISSING', detail: expect.stringContaining('needs its client secret again') } });
    expect((refused.error as { message: { ro: string } }).message.ro).toContain('adresei serverului');
    const window = await s.request({ id: 'm5', ...base, env: anaf.url, refreshWindowDays: 20 });
    expect(window).toMatchObject({ ok: true, result: { state: 'valid', profile: { env: anaf.url, refreshWindowDays: 20 } } });

    anaf.resetCounters();
    const moved = await s.request({ id: 'm6', ...base, env: 'test', clientSecret: CLIENT_SECRET });
    expect(moved).toMatchObject({ ok: true, result: { state: 'none', profile: { env: 'test', refreshWindowDays: 20 } } });
    expect(await s.request({ id: 'm7', type: 'token.refresh', profile: 'moving' })).toMatchObject({ ok: false, error: { code: 'NO_TOKEN' } });
    expect(anaf.counters.requests.token).toBe(0);
    expect((await s.end()).code).toBe(0);
    const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
    expect(log).toContain('profile.tokens-dropped');
    expect(log).toContain('a new authorization with the USB key is needed');
  });

  it('authorize.complete (the extension) must carry the state: an answer without it is refused before ANAF', async () => {
    const s = session();
    await s.request({
      id: 's1',
      type: 'profile.save',
      name: 'stateless',
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: REDIRECT,
      env: anaf.url,
    });
    anaf.setOptions({ omitState: true });
    try {
      const tokensBefore = anaf.counters.requests.token;
      const start = resultSchemas['authorize.start'].parse((await s.request({ id: 's2', type: 'authorize.start', profile: 'stateless' })).result);
      const browser = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
      expect(new URL(browser.location!).searchParams.has('state')).toBe(false);
      // The single recent authorization would match it: the CLI's paste path accepts that, this does not.
      expect(await s.request({ id: 's3', type: 'authorize.complete', profile: 'stateless', callbackUrl: browser.location! })).toMatchObject({
        id: 's3',
        ok: false,
        error: { code: 'STATE_MISMATCH', detail: 'the answer carries no state' },
      });
      const code = new URL(browser.location!).searchParams.get('code')!;
      // A bare code (no callback URL) is not a request this host takes at all.
      expect(await s.request({ id: 's4', type: 'authorize.complete', profile: 'stateless', code })).toMatchObject({
        id: 's4',
        ok: false,
        error: { code: 'BAD_REQUEST' },
      });
      expect(anaf.counters.requests.token).toBe(tokensBefore);
      expect(
        resultSchemas.status.parse((await s.request({ id: 's5', type: 'status' })).result).profiles.find((p) => p.profile.name === 'stateless')?.state,
      ).toBe('none');
    } finally {
      anaf.setOptions({ omitState: false });
    }
    expect((await s.end()).code).toBe(0);
  });

  it('answers every bad message with a typed error and keeps going', async () => {
    const s = session();
    const len = Buffer.alloc(4);
    len.writeUInt32LE(5);
    s.writeRaw(Buffer.concat([len, Buffer.from('{oops')]));
    expect(await s.next()).toMatchObject({ id: null, ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await s.request({ id: 'a', type: 'no-such-type' })).toMatchObject({ id: 'a', ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await s.request({ id: 'b', type: 'status', extra: true })).toMatchObject({ id: 'b', ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await s.request({ id: 'c', type: 'authorize.start', profile: 'missing' })).toMatchObject({
      id: 'c',
      ok: false,
      error: { code: 'PROFILE_NOT_FOUND' },
    });
    expect(await s.request({ id: 'd', type: 'authorize.complete', profile: 'missing', callbackUrl: 'not a url' })).toMatchObject({
      id: 'd',
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    expect(await s.request({ id: 'd2', type: 'authorize.complete', profile: 'x', callbackUrl: 'https://a.example/cb?code=1', code: '1' })).toMatchObject({
      id: 'd2',
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    // ANAF's portal registers only https callbacks: the options page cannot save an http one.
    expect(
      await s.request({
        id: 'd3',
        type: 'profile.save',
        name: 'plain',
        clientId: 'c',
        clientSecret: 's',
        redirectUri: 'http://erp.example.ro/cb',
        env: 'prod',
      }),
    ).toMatchObject({ id: 'd3', ok: false, error: { code: 'CALLBACK_INVALID' } });
    expect(await s.request([1, 2, 3] as unknown as Record<string, unknown>)).toMatchObject({ id: null, ok: false });
    expect(await s.request({ id: 'e', type: 'hello', protocol: 1 })).toMatchObject({ id: 'e', ok: true });
    // A truncated frame at the end of input: a clean exit.
    s.writeRaw(encodeFrame({ id: 'f', type: 'status' }).subarray(0, 9));
    expect((await s.end()).code).toBe(0);
  });

  it('answers the largest valid request, and refuses a frame one byte longer once and exits cleanly', async () => {
    // The cap is the longest valid request (sixteen driver paths, every character escaped), not Chrome's 64 MiB.
    const largest = encodedBytes(LARGEST_REQUEST);
    expect(largest).toBeLessThan(128 * 1024);
    const s = session();
    const answer = await s.request(LARGEST_REQUEST);
    expect(answer).toMatchObject({ id: LARGEST_REQUEST.id, ok: false });
    expect((answer.error as { code: string }).code).not.toBe('MESSAGE_TOO_LARGE');
    const header = Buffer.alloc(4);
    header.writeUInt32LE(largest + 1);
    s.writeRaw(header);
    expect(await s.next()).toMatchObject({ id: null, ok: false, error: { code: 'MESSAGE_TOO_LARGE' } });
    expect((await s.end()).code).toBe(0);
  });

  it('refuses a caller that is not an allowed extension', async () => {
    for (const origin of [`chrome-extension://${'b'.repeat(32)}/`, 'https://evil.example/', '']) {
      const s = session(origin);
      const first = await s.next();
      expect(first).toMatchObject({ ok: false, error: { code: 'ORIGIN_NOT_ALLOWED' } });
      s.writeRaw(encodeFrame({ id: '1', type: 'status' }));
      expect((await s.end()).code).toBe(1);
    }
  });

  it('uninstalls the registration', async () => {
    const r = await runCli(['uninstall', '--user-data-dir', userDataDir], env);
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(userDataDir, 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`))).toBe(false);
  });
});
