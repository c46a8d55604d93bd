/**
 * The product against a stand-in that answers the way the real ANAF has been seen to answer
 * (../shared/anaf-facts.md): dead grants in both shapes, revoke behind a login wall, 60-second
 * codes, RS512 tokens that name the certificate only by serial and issuer, HTTP Basic refused,
 * rate limits, and refresh-storm protection. Every command is a separate process.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errorResponseSchema } from '../../native-host/src/serve/api.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { openAuthorize } from '../helpers/browser.js';
import { runCli, transcript } from '../helpers/cli.js';
import { request } from '../helpers/https.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { erp, startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp.js';
import { makePki, type Pki } from '../pki/make-pki.js';

const CLIENT_ID = 'dialect-client';
const CLIENT_SECRET = `dialect-secret-${Math.random().toString(36).slice(2)}`;
const REDIRECT = 'https://erp.example.ro/anaf/callback';
const DAY = 86_400;

let pki: Pki;
let anaf: AnafStandin;
let env: NodeJS.ProcessEnv;
const homes: string[] = [];
const serves: ServeProcess[] = [];

const cli = (args: string[], input?: string) => runCli(args, env, input);

async function json<T = Record<string, any>>(args: string[]): Promise<T> {
  const r = await cli([...args, '--json']);
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

async function addProfile(name = 'firma', secret = CLIENT_SECRET) {
  const r = await cli(['profile', 'add', '--name', name, '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT, '--env', anaf.url], `${secret}\n`);
  expect(r.code, r.stderr).toBe(0);
}

/** The certificate holder's browser: the authorize page with the client certificate, then ANAF's redirect. */
async function login(name = 'firma'): Promise<string> {
  const start = await json<{ authorizeUrl: string }>(['authorize', '--profile', name]);
  const res = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
  expect(res.status).toBe(302);
  return res.location!;
}

/** Finishes by hand: the address the browser landed on, given on stdin. */
const finish = (callbackUrl: string, name = 'firma') => cli(['authorize', '--profile', name, '--callback-url'], `${callbackUrl}\n`);

async function authorized(name = 'firma') {
  await addProfile(name);
  const done = await finish(await login(name), name);
  expect(done.code, done.stderr).toBe(0);
}

const list = async () => (await json<Record<string, any>[]>(['list']))[0]!;

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }] });
});

beforeEach(() => {
  const home = tempDir('dialect');
  homes.push(home);
  env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile };
  anaf.clearFaults();
  anaf.setOptions({
    accessTokenTtlSec: 90 * DAY,
    refreshTokenTtlSec: 365 * DAY,
    deadGrantError: 'invalid_request',
    clientAuth: 'both',
    invalidClientChallenge: true,
  });
  anaf.resetCounters();
});

afterEach(async () => {
  for (const s of serves.splice(0)) await s.stop();
});

afterAll(async () => {
  const logs = homes.flatMap((h) => {
    const f = path.join(h, 'logs', 'anaf-token.log');
    return fs.existsSync(f) ? [fs.readFileSync(f, 'utf8')] : [];
  });
  const hits = scanForSecrets([...transcript, ...logs], [CLIENT_SECRET, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens, ...anaf.issued.codes]);
  await anaf.close();
  expect(hits).toEqual([]);
});

describe('a dead grant, in each shape ANAF gives it', () => {
  for (const shape of ['invalid_request', 'invalid_grant'] as const) {
    it(`${shape} "Refresh Token status is expired" → TOKEN_DEAD, exit 4, list dead, ERP 409, no more tries`, async () => {
      anaf.setOptions({ deadGrantError: shape });
      await authorized();
      // The grant dies at ANAF (its clock passes the refresh token's end); this machine's clock does not know.
      anaf.advanceClock(366 * DAY);
      const r = await cli(['refresh', '--profile', 'firma']);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toContain('TOKEN_DEAD');
      expect(r.stderr).toContain(`ANAF answered 400 ${shape}: Refresh Token status is expired`);
      expect(r.stderr).toContain('Autorizați din nou cu cheia USB');
      expect(r.stderr).not.toMatch(/callback|client secret/i);
      expect((await list()).state).toBe('dead');
      expect((await cli(['token', '--profile', 'firma'])).code).toBe(4);
      expect(anaf.counters.grants.refresh_token).toBe(1);

      // The ERP service says so with 409 and does not ask ANAF again, however often it is asked.
      const key = { name: `erp-${shape}`, key: (await json<{ key: string }>(['clients', 'add', `erp-${shape}`])).key };
      const s = await startServeProcess(['--check-interval', '1s'], env);
      serves.push(s);
      for (const p of ['/v1/profiles/firma/token', '/v1/profiles/firma/refresh']) {
        const a = await erp(s.port, p, { as: key, method: p.endsWith('refresh') ? 'POST' : 'GET' });
        expect(a.status).toBe(409);
        expect(errorResponseSchema.parse(a.json).error.code).toBe('TOKEN_DEAD');
      }
      await new Promise((res) => setTimeout(res, 1500));
      expect(anaf.counters.grants.refresh_token).toBe(1);
      anaf.advanceClock(-366 * DAY);
    });
  }
});

describe('revoke', () => {
  it('against the login wall: one try, tokens forgotten, exit 0, says ANAF did not confirm and what to do', async () => {
    await authorized();
    const r = await cli(['revoke', '--profile', 'firma']);
    expect(r.code, r.stderr).toBe(0);
    expect(anaf.counters.requests.revoke).toBe(1);
    expect(r.stdout).toContain('ANAF did NOT confirm');
    expect(r.stdout).toContain('Renunțare OAuth');
    expect(r.stdout).toMatch(/regenerate the client secret/);
    expect((await list()).state).toBe('none');
    expect((await cli(['token', '--profile', 'firma'])).code).toBe(4);
  });

  it('--json says whether ANAF confirmed', async () => {
    await authorized();
    const out = await json(['revoke', '--profile', 'firma']);
    expect(out).toMatchObject({ anafConfirmed: false, status: { state: 'none' } });
    expect(out.anafDetail).toMatch(/302.*\/my\.policy/);
  });
});

describe('the 60-second code', () => {
  it('a stale code is INVALID_GRANT with the 60-second advice, no setup advice', async () => {
    await addProfile();
    const callbackUrl = await login();
    anaf.advanceClock(61);
    const r = await finish(callbackUrl);
    anaf.advanceClock(-61);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('INVALID_GRANT');
    expect(r.stderr).toContain('ANAF answered 400 invalid_request');
    expect(r.stderr).toContain('60 seconds after the login');
    expect(r.stderr).toContain('60 de secunde după autentificare');
    expect(r.stderr).not.toMatch(/callback|client secret|SPV/i);
    expect((await list()).state).toBe('none');
  });

  it('plain authorize says the code lasts 60 seconds after the login', async () => {
    await addProfile();
    const r = await cli(['authorize', '--profile', 'firma']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/60/);
  });
});

describe('who the token belongs to', () => {
  it("list shows the client certificate's serial and issuer from ANAF's RS512 token, and its roles", async () => {
    await authorized();
    const access = anaf.issued.accessTokens.at(-1)!;
    expect(JSON.parse(Buffer.from(access.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'RS512' });
    const cert = new X509Certificate(pki.client.certPem);
    const s = await list();
    expect(s.certificate.serialHex).toBe(cert.serialNumber.toUpperCase().replace(/^(00)+(?=.)/, ''));
    expect(s.certificate.issuer).toBe(/CN=([^\n]+)/.exec(cert.issuer)![1]);
    expect(s.certificate.roles).toBe('HELLO@EFACTURA@ETRANSPORT@SRV_EFACTURA');
    expect(s.certificate.source).toBe('jwt');
    expect(s.certificate.subject).toBeUndefined(); // ANAF's token has no DN; no USB key here to name it
    expect((await cli(['list'])).stdout).toContain(`serial ${s.certificate.serialHex}`);
  });
});

describe('client authentication', () => {
  it('HTTP Basic first; when ANAF refuses it, the form body, remembered for the profile', async () => {
    anaf.setOptions({ clientAuth: 'post', accessTokenTtlSec: 10 * DAY });
    await authorized();
    expect(anaf.counters.requests.token).toBe(2); // Basic refused, then the form body
    anaf.resetCounters();
    expect((await cli(['refresh', '--profile', 'firma'])).code).toBe(0);
    expect(anaf.counters.requests.token).toBe(1); // straight to what worked
  });

  it('Basic alone works as ANAF documents it', async () => {
    anaf.setOptions({ clientAuth: 'basic' });
    await authorized();
    expect(anaf.counters.requests.token).toBe(1);
  });

  for (const challenge of [true, false]) {
    it(`a wrong secret is INVALID_CLIENT (401 ${challenge ? 'with' : 'without'} WWW-Authenticate)`, async () => {
      anaf.setOptions({ invalidClientChallenge: challenge });
      await addProfile('firma', 'not-the-secret');
      const r = await finish(await login());
      expect(r.code).toBe(6);
      expect(r.stderr).toContain('INVALID_CLIENT');
      expect(r.stderr).toContain('ANAF answered 401 invalid_client');
    });
  }
});

describe('ANAF busy, its firewall, and other refusals', () => {
  it('a JSON 429 and the firewall page keep the token and say "try later" (exit 5)', async () => {
    anaf.setOptions({ accessTokenTtlSec: 10 * DAY });
    await authorized();
    anaf.setFaults({ rateLimit: true, endpoints: ['token'], times: 1 });
    const limited = await cli(['refresh', '--profile', 'firma']);
    expect(limited.code).toBe(5);
    expect(limited.stderr).toContain('ANAF_UNAVAILABLE');
    expect(limited.stderr).toContain('429');
    anaf.setFaults({ waf: true, endpoints: ['token'], times: 1 });
    const waf = await cli(['refresh', '--profile', 'firma']);
    expect(waf.code).toBe(5);
    expect(waf.stderr).toContain('ANAF_BAD_RESPONSE');
    expect(waf.stderr).toContain('The requested URL was rejected');
    expect((await list()).state).toBe('expiring');
    expect((await cli(['token', '--profile', 'firma'])).code).toBe(0);
  });

  it("another 4xx refusal is not asked again by itself; the user's own refresh asks", async () => {
    anaf.setOptions({ accessTokenTtlSec: 10 * DAY });
    await authorized();
    anaf.setFaults({ status: 403, endpoints: ['token'] });
    const r = await cli(['refresh', '--profile', 'firma']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('AUTHORIZATION_FAILED');
    anaf.resetCounters();
    for (let i = 0; i < 3; i++) expect((await cli(['token', '--profile', 'firma'])).code).toBe(0); // the stored token, still valid
    expect(anaf.counters.requests.token).toBe(0);
    anaf.clearFaults();
    expect((await cli(['refresh', '--profile', 'firma'])).code).toBe(0);
    expect(anaf.counters.requests.token).toBe(1);
  });
});

describe('no refresh storms', () => {
  it("5 token calls with an access token capped at the grant's end → 1 refresh", async () => {
    // The grant ends in 10 days, inside the 14-day window: ANAF caps the access token there.
    anaf.setOptions({ refreshTokenTtlSec: 10 * DAY });
    await authorized();
    const before = await list();
    expect(before.state).toBe('expiring');
    expect(before.accessExpiresAt).toBe(before.refreshExpiresAt);
    for (let i = 0; i < 5; i++) expect((await cli(['token', '--profile', 'firma'])).code).toBe(0);
    expect(anaf.counters.grants.refresh_token).toBe(1);
  });

  it('the ERP asking POST …/refresh in a loop gets the current token, not a loop of refreshes', async () => {
    await authorized();
    const key = { name: 'erp-loop', key: (await json<{ key: string }>(['clients', 'add', 'erp-loop'])).key };
    const s = await startServeProcess(['--check-interval', '0'], env);
    serves.push(s);
    for (let i = 0; i < 5; i++) expect((await erp(s.port, '/v1/profiles/firma/refresh', { as: key, method: 'POST' })).status).toBe(200);
    expect(anaf.counters.grants.refresh_token).toBe(0); // 89 days left: nothing a refresh could help
  });
});

describe('callback URLs', () => {
  it("profile add refuses http:// (ANAF's portal does too)", async () => {
    const r = await cli(
      ['profile', 'add', '--name', 'plain', '--client-id', CLIENT_ID, '--redirect-uri', 'http://erp.example.ro/cb', '--env', anaf.url],
      `${CLIENT_SECRET}\n`,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CALLBACK_INVALID');
    expect(r.stderr).toContain('https://');
  });
});

describe('the token works at ANAF right now', () => {
  it("ANAF's TestOauth hello accepts the stored token", async () => {
    await authorized();
    const t = JSON.parse((await runCli(['token', '--profile', 'firma', '--json'], env)).stdout) as { accessToken: string };
    const hello = await request(`${anaf.url}/TestOauth/jaxrs/hello?name=test`, pki.ca.certPem, { headers: { authorization: `Bearer ${t.accessToken}` } });
    expect(hello.status).toBe(200);
  });
});
