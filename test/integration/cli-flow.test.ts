/**
 * The CLI end to end against the mTLS ANAF stand-in: every command is a separate process, the
 * test plays the browser with a client certificate, and the stand-in counts what reached it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../native-host/src/vault/sqlite.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../pki/make-pki.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { runCli, transcript } from '../helpers/cli.js';
import { openAuthorize } from '../helpers/browser.js';
import { tempDir } from '../helpers/temp.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { request } from '../helpers/https.js';
import { X509Certificate } from 'node:crypto';
import { normalizeSerialHex } from '#shared/certificate-serial.js';

const CLIENT_ID = 'cli-test-client';
const CLIENT_SECRET = `cli-secret-${Math.random().toString(36).slice(2)}`;
const REDIRECT = 'https://erp.example.ro/anaf/callback';
const DAY = 86_400;

let pki: Pki;
let anaf: AnafStandin;
let env: NodeJS.ProcessEnv;
const homes: string[] = [];

async function cli(args: string[], input?: string) {
  return runCli(args, env, input);
}

async function json<T = Record<string, unknown>>(args: string[], input?: string): Promise<T> {
  const r = await cli([...args, '--json'], input);
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

async function addProfile(name = 'firma') {
  const r = await cli(['profile', 'add', '--name', name, '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT, '--env', anaf.url], `${CLIENT_SECRET}\n`);
  expect(r.code, r.stderr).toBe(0);
}

/** `authorize --callback-url`: the address the browser landed on goes in on standard input, never in argv. */
async function finish(name: string, callbackUrl: string) {
  return cli(['authorize', '--profile', name, '--callback-url'], `${callbackUrl}\n`);
}

/** The whole flow a certificate holder goes through, with the browser played by node:https. */
async function authorize(name = 'firma', cert = pki.client) {
  const start = await json<{ authorizeUrl: string; state: string }>(['authorize', '--profile', name]);
  const res = await openAuthorize(start.authorizeUrl, pki.ca.certPem, cert);
  expect(res.status).toBe(302);
  return { start, callbackUrl: res.location! };
}

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  anaf = await startAnafStandin({
    pki,
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }],
  });
});

beforeEach(() => {
  const home = tempDir('home');
  homes.push(home);
  env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile };
  anaf.clearFaults();
  anaf.setOptions({ accessTokenTtlSec: 90 * DAY, omitState: false, enrolledSubjects: undefined });
  anaf.resetCounters();
});

afterAll(async () => {
  // Nothing the tool printed or logged may contain a token, a code or the client secret.
  const logs = homes.flatMap((h) => {
    const f = path.join(h, 'logs', 'anaf-token.log');
    return fs.existsSync(f) ? [fs.readFileSync(f, 'utf8')] : [];
  });
  // The vault and its key file hold them only sealed.
  const stored = homes.flatMap((h) =>
    ['vault.sqlite', 'vault.sqlite-wal', 'vault.key'].flatMap((f) => (fs.existsSync(path.join(h, f)) ? [fs.readFileSync(path.join(h, f), 'latin1')] : [])),
  );
  expect(stored.length).toBeGreaterThan(1);
  const hits = scanForSecrets(
    [...transcript, ...logs, ...stored],
    [CLIENT_SECRET, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens, ...anaf.issued.codes],
  );
  await anaf.close();
  expect(logs.length).toBeGreaterThan(5);
  expect(hits).toEqual([]);
});

describe('anaf-token CLI against the ANAF stand-in', () => {
  it('authorizes with the client certificate, stores the tokens, and hands out a token ANAF accepts', async () => {
    await addProfile();
    const { callbackUrl } = await authorize();
    const done = await finish('firma', callbackUrl);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/firma\s+valid\s+89d/);
    const serial = normalizeSerialHex(new X509Certificate(pki.client.certPem).serialNumber)!;
    expect(done.stdout).toContain(`serial ${serial}`); // ANAF's token names the certificate by serial

    const [status] = await json<Record<string, any>[]>(['list']);
    expect(status).toMatchObject({ state: 'valid', accessDaysLeft: 89, refreshDaysLeft: 364, stateEchoed: true });
    expect(status!.certificate).toMatchObject({ serialHex: serial, source: 'jwt' });
    expect(anaf.counters.grants.authorization_code).toBe(1);

    const tok = await runCli(['token', '--profile', 'firma', '--json'], env);
    expect(tok.code).toBe(0);
    const { accessToken } = JSON.parse(tok.stdout) as { accessToken: string };
    expect(anaf.issued.accessTokens).toContain(accessToken);
    const hello = await request(`${anaf.url}/TestOauth/jaxrs/hello?name=test`, pki.ca.certPem, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(hello.status).toBe(200);
    expect(anaf.counters.grants.refresh_token).toBe(0); // not due: no refresh

    // The user can add their own name for the certificate; ANAF's claim stays the source.
    const labelled = await json<Record<string, any>>(['label', '--profile', 'firma', '--certificate', 'token certSIGN birou']);
    expect(labelled.certificate).toMatchObject({ source: 'jwt', label: 'token certSIGN birou' });
    expect((await cli(['list'])).stdout).toContain(`token certSIGN birou; serial ${serial}`);
  });

  it('refreshes with rotation: a new pair is stored and the old refresh token is dead at ANAF', async () => {
    await addProfile();
    await finish('firma', (await authorize()).callbackUrl);
    const oldRefresh = anaf.issued.refreshTokens.at(-1)!;
    const oldAccess = anaf.issued.accessTokens.at(-1)!;
    const r = await json<Record<string, any>>(['refresh', '--profile', 'firma']);
    expect(r.state).toBe('valid');
    expect(r.lastRefreshAt).toBeDefined();
    expect(anaf.counters.grants.refresh_token).toBe(1);
    const tok = JSON.parse((await runCli(['token', '--profile', 'firma', '--json'], env)).stdout) as { accessToken: string };
    expect(tok.accessToken).not.toBe(oldAccess);
    expect(tok.accessToken).toBe(anaf.issued.accessTokens.at(-1));
    const reuse = await request(`${anaf.url}/anaf-oauth2/v1/token`, pki.ca.certPem, {
      form: { grant_type: 'refresh_token', refresh_token: oldRefresh, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
    });
    expect(reuse.status).toBe(400);
    // ANAF's words for a used refresh token.
    expect(JSON.parse(reuse.body)).toEqual({ error: 'invalid_request', error_description: 'Refresh Token status is expired' });
  });

  it('sends nothing to a server written into the vault file behind its back: secret and tokens do not open', async () => {
    const evil = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }] });
    try {
      await addProfile();
      expect((await finish('firma', (await authorize()).callbackUrl)).code).toBe(0);
      const setEnv = (url: string) => {
        const db = openDatabase(path.join(env.ANAF_TOKEN_HOME!, 'vault.sqlite'));
        db.prepare("UPDATE profiles SET env = ? WHERE name = 'firma'").run(url);
        db.close();
      };
      setEnv(evil.url);
      anaf.resetCounters();
      for (const args of [
        ['refresh', '--profile', 'firma'],
        ['token', '--profile', 'firma'],
        ['check', '--profile', 'firma'],
        ['revoke', '--profile', 'firma'],
        ['authorize', '--profile', 'firma'],
      ]) {
        const r = await cli(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(7);
        expect(r.stderr).toContain('PROFILE_ALTERED');
        expect(r.stderr).toContain('modificat în afara anaf-token');
      }
      expect(evil.counters.requests).toEqual({ authorize: 0, token: 0, revoke: 0, hello: 0 });
      expect(anaf.counters.requests).toEqual({ authorize: 0, token: 0, revoke: 0, hello: 0 });
      const doctor = await cli(['doctor', '--json']);
      expect(doctor.stdout).toContain('does not open: PROFILE_ALTERED');

      // The server it was saved with: everything opens again, and the refresh goes there.
      setEnv(anaf.url);
      expect((await cli(['refresh', '--profile', 'firma'])).code).toBe(0);
      expect(anaf.counters.grants.refresh_token).toBe(1);
      expect(evil.counters.requests.token).toBe(0);
    } finally {
      await evil.close();
    }
  });

  it('rejects a tampered state before anything reaches ANAF', async () => {
    await addProfile();
    const { callbackUrl } = await authorize();
    const url = new URL(callbackUrl);
    url.searchParams.set(
      'state',
      url.searchParams.get('state')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    );
    const r = await finish('firma', url.toString());
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('STATE_MISMATCH');
    expect(r.stderr).toMatch(/eroare \[STATE_MISMATCH\]: Răspunsul ANAF/);
    expect(anaf.counters.requests.token).toBe(0);
    expect((await json<Record<string, any>[]>(['list']))[0]!.state).toBe('none');
  });

  it('rejects a replayed code (ANAF says invalid_grant) and a replayed callback (state used up)', async () => {
    await addProfile();
    const first = await authorize();
    expect((await finish('firma', first.callbackUrl)).code).toBe(0);
    const again = await finish('firma', first.callbackUrl);
    expect(again.code).toBe(6);
    expect(again.stderr).toContain('STATE_MISMATCH');
    // A fresh state with the old code: the host exchanges it, ANAF refuses it.
    const second = await json<{ state: string }>(['authorize', '--profile', 'firma']);
    const replay = new URL(first.callbackUrl);
    replay.searchParams.set('state', second.state);
    const r = await finish('firma', replay.toString());
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('INVALID_GRANT');
    expect(anaf.counters.grants.authorization_code).toBe(2);
    expect((await json<Record<string, any>[]>(['list']))[0]!.state).toBe('valid'); // the first token stays
  });

  it('takes the address from standard input only: a URL on the command line is refused and never used', async () => {
    await addProfile();
    const { callbackUrl } = await authorize();
    for (const args of [['--callback-url', callbackUrl], [`--callback-url=${callbackUrl}`]]) {
      const r = await cli(['authorize', '--profile', 'firma', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('BAD_REQUEST');
      expect(r.stderr).toContain('standard input');
      expect(r.stderr).not.toContain(new URL(callbackUrl).searchParams.get('code')!);
    }
    // --code/--state are gone: the address carries both.
    const q = new URL(callbackUrl).searchParams;
    expect((await cli(['authorize', '--profile', 'firma', '--code', q.get('code')!, '--state', q.get('state')!])).code).toBe(2);
    expect(anaf.counters.requests.token).toBe(0);
    const empty = await cli(['authorize', '--profile', 'firma', '--callback-url'], '\n');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('CALLBACK_INVALID');
    // The state was not used up by any of that: the same address, on standard input, finishes.
    const r = await json<Record<string, any>>(['authorize', '--profile', 'firma', '--callback-url'], `${callbackUrl}\n`);
    expect(r).toMatchObject({ state: 'valid', stateEchoed: true });
    expect(anaf.counters.grants.authorization_code).toBe(1);
  });

  it('says when the login may start and that the code then lives 60 seconds', async () => {
    await addProfile();
    const r = await cli(['authorize', '--profile', 'firma']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/anaf-oauth2\/v1\/authorize\?/);
    expect(r.stderr).toContain('10 minute');
    expect(r.stderr).toContain('60 de secunde');
    expect(r.stderr).toContain('60 seconds');
    expect(r.stderr).toContain('--callback-url');
    expect(r.stderr).not.toMatch(/valid until|valabil până la/i);
    const start = await json<{ expiresAt: string }>(['authorize', '--profile', 'firma']);
    const left = Date.parse(start.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(9 * 60_000); // expiresAt: until when the login may start
    expect(left).toBeLessThanOrEqual(10 * 60_000);
  });

  it('accepts an answer without state only for the single recent authorization, and records it', async () => {
    await addProfile();
    anaf.setOptions({ omitState: true });
    const { callbackUrl } = await authorize();
    expect(new URL(callbackUrl).searchParams.has('state')).toBe(false);
    const r = await json<Record<string, any>>(['authorize', '--profile', 'firma', '--callback-url'], `${callbackUrl}\n`);
    expect(r).toMatchObject({ state: 'valid', stateEchoed: false });
  });

  it('reports access_denied (certificate not enrolled in SPV) with what to do', async () => {
    await addProfile();
    anaf.setOptions({ enrolledSubjects: ['POPESCU ION'] });
    const { callbackUrl } = await authorize('firma', pki.clientEc);
    const r = await finish('firma', callbackUrl);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('ACCESS_DENIED');
    expect(r.stderr).toContain('SPV');
    expect(anaf.counters.requests.token).toBe(0);
  });

  it('with a server that revokes (RFC 7009), revokes both tokens there, says so, and forgets them', async () => {
    anaf.setOptions({ dialect: 'rfc' });
    await addProfile();
    await finish('firma', (await authorize()).callbackUrl);
    const access = anaf.issued.accessTokens.at(-1)!;
    const r = await cli(['revoke', '--profile', 'firma']);
    anaf.setOptions({ dialect: 'anaf' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('were revoked at ANAF and forgotten here');
    expect(anaf.counters.requests.revoke).toBe(2);
    expect((await request(`${anaf.url}/TestOauth/jaxrs/hello?name=x`, pki.ca.certPem, { headers: { authorization: `Bearer ${access}` } })).status).toBe(401);
    expect((await json<Record<string, any>[]>(['list']))[0]!.state).toBe('none');
    expect((await cli(['token', '--profile', 'firma'])).code).toBe(4);
  });

  it('marks the token dead on invalid_grant and asks for the USB key', async () => {
    await addProfile();
    await finish('firma', (await authorize()).callbackUrl);
    // ANAF ends grants only in its portal; the stand-in's RFC variant stands for that here.
    anaf.setOptions({ dialect: 'rfc' });
    const revoke = await request(`${anaf.url}/anaf-oauth2/v1/revoke`, pki.ca.certPem, {
      form: { token: anaf.issued.refreshTokens.at(-1)!, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
    });
    anaf.setOptions({ dialect: 'anaf' });
    expect(revoke.status).toBe(200);
    const r = await cli(['refresh', '--profile', 'firma']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('TOKEN_DEAD');
    expect(r.stderr).toContain('cheia USB');
    const [s] = await json<Record<string, any>[]>(['list']);
    expect(s!.state).toBe('dead');
    expect((await cli(['token', '--profile', 'firma'])).code).toBe(4);
    expect(anaf.counters.grants.refresh_token).toBe(1); // dead: no more tries
  });

  it('keeps the old token when ANAF answers 5xx, and serves it while it is still valid', async () => {
    anaf.setOptions({ accessTokenTtlSec: 10 * DAY }); // inside the 14-day window: always due
    await addProfile();
    await finish('firma', (await authorize()).callbackUrl);
    const before = anaf.issued.accessTokens.at(-1)!;
    anaf.setFaults({ status: 503 });
    const r = await cli(['refresh', '--profile', 'firma']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('ANAF_UNAVAILABLE');
    const tok = await runCli(['token', '--profile', 'firma', '--json'], env);
    expect(tok.code).toBe(0);
    expect((JSON.parse(tok.stdout) as { accessToken: string }).accessToken).toBe(before);
    const [s] = await json<Record<string, any>[]>(['list']);
    expect(s).toMatchObject({ state: 'expiring' });
    expect(s!.lastError).toContain('ANAF_UNAVAILABLE');
    for (const fault of [{ malformedJson: true }, { dropConnection: true }]) {
      anaf.clearFaults();
      anaf.setFaults(fault);
      const f = await cli(['refresh', '--profile', 'firma']);
      expect([5], `${JSON.stringify(fault)}: ${f.stderr}`).toContain(f.code);
    }
    anaf.clearFaults();
    expect((await cli(['refresh', '--profile', 'firma'])).code).toBe(0); // the kept refresh token still works
  });

  it('lets one of several concurrent processes refresh; all get the new token', async () => {
    anaf.setOptions({ accessTokenTtlSec: 10 * DAY });
    await addProfile();
    await finish('firma', (await authorize()).callbackUrl);
    // Five processes ask for a due token at once: one refreshes, all get what it stored.
    anaf.setFaults({ delayMs: 700 });
    const tokens = await Promise.all(Array.from({ length: 5 }, () => runCli(['token', '--profile', 'firma', '--json'], env)));
    expect(tokens.map((t) => t.code)).toEqual([0, 0, 0, 0, 0]);
    const values = new Set(tokens.map((t) => (JSON.parse(t.stdout) as { accessToken: string }).accessToken));
    expect(values.size).toBe(1);
    expect(anaf.counters.grants.refresh_token).toBe(1);
    expect([...values][0]).toBe(anaf.issued.accessTokens.at(-1));

    // Two forced refreshes at once: one reaches ANAF.
    anaf.resetCounters();
    const [a, b] = await Promise.all([cli(['refresh', '--profile', 'firma']), cli(['refresh', '--profile', 'firma'])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(anaf.counters.grants.refresh_token).toBe(1);
  });

  it('says what is wrong with bad input, with documented exit codes', async () => {
    expect((await cli(['token', '--profile', 'nobody'])).code).toBe(3);
    const noSecret = await cli(['profile', 'add', '--name', 'x', '--client-id', 'c', '--redirect-uri', REDIRECT], '');
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('SECRET_MISSING');
    const badEnv = await cli(['profile', 'add', '--name', 'x', '--client-id', 'c', '--redirect-uri', REDIRECT, '--env', 'http://a'], 's3cret\n');
    expect(badEnv.code).toBe(2);
    await addProfile();
    expect((await cli(['profile', 'add', '--name', 'firma', '--client-id', 'c', '--redirect-uri', REDIRECT], 's3cret\n')).code).toBe(2);
    expect((await cli(['token', '--profile', 'firma'])).code).toBe(4);
    const wrong = await finish('firma', 'https://evil.example/anaf/callback?code=x&state=y');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('CALLBACK_INVALID');
    const list = await json<Record<string, any>[]>(['profile', 'list']);
    expect(JSON.stringify(list)).not.toContain(CLIENT_SECRET);
    expect((await cli(['nonsense'])).code).toBe(2);
  });

  it('reports a wrong client secret as such', async () => {
    const r = await cli(['profile', 'add', '--name', 'bad', '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT, '--env', anaf.url], 'not-the-secret\n');
    expect(r.code).toBe(0);
    const { callbackUrl } = await authorize('bad');
    const done = await finish('bad', callbackUrl);
    expect(done.code).toBe(6);
    expect(done.stderr).toContain('INVALID_CLIENT');
  });
});
