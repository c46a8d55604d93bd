/**
 * `anaf-token serve` as an ERP meets it: a separate process on loopback, client keys, the
 * Host/Origin guards, refreshes through the mTLS ANAF stand-in (single-flight under load, kept
 * tokens while ANAF is down), and a vault written by other processes at the same time.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { profilesResponseSchema, tokenResponseSchema, errorResponseSchema } from '../../native-host/src/serve/api.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { openAuthorize } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { request } from '../helpers/https.js';
import { erp, erpAnswers, startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp.js';
import { makePki, type Pki } from '../pki/make-pki.js';

const CLIENT_ID = 'serve-test-client';
const CLIENT_SECRET = `serve-secret-${Math.random().toString(36).slice(2)}`;
const REDIRECT = 'https://erp.example.ro/anaf/callback';
const DAY = 86_400;

let pki: Pki;
let anaf: AnafStandin;
let home: string;
let env: NodeJS.ProcessEnv;
let key: string;
/** Every serve started (for the secret scan), and those still running (stopped after each test). */
const serves: ServeProcess[] = [];
const running: ServeProcess[] = [];
/** CLI output other than the one `clients add` that prints a key by contract. */
const cliOutput: string[] = [];
const clientKeys: string[] = [];

async function cli(args: string[], input?: string) {
  const r = await runCli(args, env, input);
  cliOutput.push(r.stdout, r.stderr);
  return r;
}

async function addProfile(name: string) {
  const r = await cli(['profile', 'add', '--name', name, '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT, '--env', anaf.url], `${CLIENT_SECRET}\n`);
  expect(r.code, r.stderr).toBe(0);
}

/** Authorizes a profile; its access token lives `ttlDays` (inside the 14-day window means "due"). */
async function authorize(name: string, ttlDays: number) {
  anaf.setOptions({ accessTokenTtlSec: ttlDays * DAY });
  const start = JSON.parse((await cli(['authorize', '--profile', name, '--json'])).stdout) as { authorizeUrl: string };
  const res = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
  const done = await cli(['authorize', '--profile', name, '--callback-url'], `${res.location!}\n`);
  expect(done.code, done.stderr).toBe(0);
  // Refreshed tokens are long-lived again, so one refresh is enough.
  anaf.setOptions({ accessTokenTtlSec: 90 * DAY });
  return anaf.issued.accessTokens.at(-1)!;
}

async function newKey(name: string): Promise<string> {
  const r = await runCli(['clients', 'add', name, '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  cliOutput.push(r.stderr);
  const k = (JSON.parse(r.stdout) as { key: string }).key;
  clientKeys.push(k);
  return k;
}

async function serve(args: string[] = ['--check-interval', '0']) {
  const s = await startServeProcess(args, env);
  serves.push(s);
  running.push(s);
  return s;
}

const tokenOf = (a: { json: unknown }) => tokenResponseSchema.parse(a.json);
const errorOf = (a: { json: unknown }) => errorResponseSchema.parse(a.json).error;

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }] });
  home = tempDir('serve');
  env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile };
  key = await newKey('erp');
});

// A serve left running would refresh the next test's tokens in the background.
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

afterAll(async () => {
  const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
  expect(log).toContain('serve.token-served');
  const tokenAnswers = erpAnswers.filter((a) => a.includes('"accessToken"'));
  const otherAnswers = erpAnswers.filter((a) => !a.includes('"accessToken"'));
  const processOutput = serves.flatMap((s) => [s.output().stdout, s.output().stderr]);
  // Nothing but a token answer may carry a token; nothing at all may carry a client key, refresh token or secret.
  const everything = [CLIENT_SECRET, ...clientKeys, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens, ...anaf.issued.codes];
  const hits = [
    ...scanForSecrets([log, ...otherAnswers, ...processOutput, ...cliOutput], everything),
    ...scanForSecrets(tokenAnswers, [CLIENT_SECRET, ...clientKeys, ...anaf.issued.refreshTokens, ...anaf.issued.codes]),
  ];
  await anaf.close();
  expect(hits).toEqual([]);
});

describe('anaf-token serve', () => {
  it('refuses no key, a wrong key, a foreign Host, an Origin, and rate-limits wrong keys', async () => {
    await addProfile('guarded');
    const s = await serve();
    expect(s.addresses).toContain('127.0.0.1');

    const noKey = await erp(s.port, '/v1/profiles');
    expect(noKey.status).toBe(401);
    expect(noKey.headers['www-authenticate']).toContain('Bearer');
    expect(errorOf(noKey).code).toBe('API_KEY_INVALID');
    expect(errorOf(noKey).message.ro).toContain('cheia');

    const wrong = await erp(s.port, '/v1/profiles', { key: key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A') });
    expect(wrong.status).toBe(401);
    expect((await erp(s.port, '/v1/profiles', { key: 'not-a-key' })).status).toBe(401);

    const rebinding = await erp(s.port, '/v1/profiles', { key, host: `attacker.example:${s.port}` });
    expect(rebinding.status).toBe(403);
    expect(errorOf(rebinding).code).toBe('HOST_NOT_ALLOWED');
    expect((await erp(s.port, '/v1/profiles', { key, host: '127.0.0.1:1' })).status).toBe(403);

    const fromPage = await erp(s.port, '/v1/profiles', { key, headers: { origin: 'https://attacker.example' } });
    expect(fromPage.status).toBe(403);
    expect(errorOf(fromPage).code).toBe('WEB_ORIGIN_REFUSED');
    expect((await erp(s.port, '/v1/profiles', { key, method: 'OPTIONS', headers: { origin: 'null' } })).status).toBe(403);

    // The right key, by every loopback name.
    expect((await erp(s.port, '/healthz', { key })).json).toEqual({ status: 'ok', version: expect.any(String) });
    expect((await erp(s.port, '/v1/profiles', { key, host: `localhost:${s.port}` })).status).toBe(200);
    if (s.addresses.includes('::1')) expect((await erp(s.port, '/v1/profiles', { key, ipv6: true })).status).toBe(200);

    const unknown = await erp(s.port, '/v1/profiles/nobody/token', { key });
    expect([unknown.status, errorOf(unknown).code]).toEqual([404, 'PROFILE_NOT_FOUND']);
    const noToken = await erp(s.port, '/v1/profiles/guarded/token', { key });
    expect([noToken.status, errorOf(noToken).code]).toEqual([409, 'NO_TOKEN']);
    expect((await erp(s.port, '/v1/nothing', { key })).status).toBe(404);
    const method = await erp(s.port, '/v1/profiles/guarded/token', { key, method: 'POST' });
    expect([method.status, method.headers.allow]).toEqual([405, 'GET']);

    // Ten wrong keys from one address: that address waits a minute, even with the right key; others do not.
    const other = { localAddress: '127.0.0.2' };
    for (let i = 0; i < 10; i++) expect((await erp(s.port, '/v1/profiles', { ...other, key: `atk_${'x'.repeat(43)}` })).status).toBe(401);
    const limited = await erp(s.port, '/v1/profiles', { ...other, key });
    expect([limited.status, errorOf(limited).code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(30);
    expect((await erp(s.port, '/v1/profiles', { key })).status).toBe(200);

    // A removed client's key stops working at once: the service reads the vault per request.
    const temp = await newKey('temporary');
    expect((await erp(s.port, '/v1/profiles', { key: temp })).status).toBe(200);
    expect((await cli(['clients', 'remove', 'temporary'])).code).toBe(0);
    expect((await erp(s.port, '/v1/profiles', { key: temp })).status).toBe(401);
    const list = JSON.parse((await cli(['clients', 'list', '--json'])).stdout) as { name: string; lastUsedAt?: string }[];
    expect(list.map((c) => c.name)).toEqual(['erp']);
    expect(list[0]!.lastUsedAt).toBeDefined();
  });

  it('hands out the stored token when not due, and lists profiles without secrets', async () => {
    await addProfile('fresh');
    const access = await authorize('fresh', 90);
    const s = await serve();
    anaf.resetCounters();
    const t = await erp(s.port, '/v1/profiles/fresh/token', { key });
    expect(t.status).toBe(200);
    expect(tokenOf(t)).toMatchObject({ profile: 'fresh', accessToken: access, tokenType: 'Bearer' });
    expect(Date.parse(tokenOf(t).expiresAt) - Date.now()).toBeGreaterThan(89 * DAY * 1000);
    expect(anaf.counters.requests.token).toBe(0);
    const list = profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { key })).json);
    expect(list.profiles.find((p) => p.profile.name === 'fresh')).toMatchObject({ state: 'valid' });
    expect(JSON.stringify(list)).not.toContain(CLIENT_SECRET);

    // POST refresh follows the refresh rule (tokens/due.ts): 89 days left, nothing a refresh could
    // help, so the current token and no call to ANAF.
    const notDue = await erp(s.port, '/v1/profiles/fresh/refresh', { key, method: 'POST' });
    expect(notDue.status).toBe(200);
    expect(tokenOf(notDue).accessToken).toBe(access);
    expect(anaf.counters.requests.token).toBe(0);
    // Inside the refresh window it refreshes, once: asked again at once, it hands out what it got.
    const db = new Database(path.join(home, 'vault.sqlite'));
    db.prepare("UPDATE tokens SET access_expires_at = ? WHERE profile = 'fresh'").run(Date.now() + 5 * DAY * 1000);
    db.close();
    await sleep(20); // serve looks for other processes' commits at most every 10 ms
    const r = await erp(s.port, '/v1/profiles/fresh/refresh', { key, method: 'POST' });
    expect(r.status).toBe(200);
    expect(anaf.counters.grants.refresh_token).toBe(1);
    expect(tokenOf(r).accessToken).toBe(anaf.issued.accessTokens.at(-1));
    const again = await erp(s.port, '/v1/profiles/fresh/refresh', { key, method: 'POST' });
    expect(tokenOf(again).accessToken).toBe(tokenOf(r).accessToken);
    expect(anaf.counters.grants.refresh_token).toBe(1);
    expect(tokenOf(await erp(s.port, '/v1/profiles/fresh/token', { key })).accessToken).toBe(tokenOf(r).accessToken);
  });

  it('50 concurrent requests during a refresh cause one refresh at ANAF, and all get the new token', async () => {
    await addProfile('busy');
    const old = await authorize('busy', 10);
    const s = await serve();
    anaf.resetCounters();
    anaf.setFaults({ delayMs: 700, endpoints: ['token'] });
    const answers = await Promise.all(Array.from({ length: 50 }, () => erp(s.port, '/v1/profiles/busy/token', { key })));
    anaf.clearFaults();
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(anaf.counters.grants.refresh_token).toBe(1);
    const fresh = anaf.issued.accessTokens.at(-1)!;
    expect(fresh).not.toBe(old);
    expect(new Set(answers.map((a) => tokenOf(a).accessToken))).toEqual(new Set([fresh]));
    // Not due any more: the next request costs ANAF nothing.
    expect(tokenOf(await erp(s.port, '/v1/profiles/busy/token', { key })).accessToken).toBe(fresh);
    expect(anaf.counters.requests.token).toBe(1);

    // POST refresh right after a refresh answers the fresh token without asking ANAF again.
    const again = await erp(s.port, '/v1/profiles/busy/refresh', { key, method: 'POST' });
    expect([again.status, tokenOf(again).accessToken]).toEqual([200, fresh]);
    expect(anaf.counters.requests.token).toBe(1);
  });

  it('keeps answering with the old valid token while ANAF is down, retries with backoff, and recovers', async () => {
    await addProfile('outage');
    const old = await authorize('outage', 10);
    anaf.resetCounters();
    anaf.setFaults({ status: 503, endpoints: ['token'] });
    const s = await serve(['--check-interval', '400ms', '--retry-base', '150ms']);
    await sleep(500);
    const during = await erp(s.port, '/v1/profiles/outage/token', { key });
    expect([during.status, tokenOf(during).accessToken]).toEqual([200, old]);
    const list = profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { key })).json);
    expect(list.profiles.find((p) => p.profile.name === 'outage')!.lastError).toContain('ANAF_UNAVAILABLE');
    // A burst of ERP requests during the outage does not hammer ANAF: they wait for the backoff.
    const before = anaf.counters.grants.refresh_token;
    await Promise.all(Array.from({ length: 20 }, () => erp(s.port, '/v1/profiles/outage/token', { key })));
    expect(anaf.counters.grants.refresh_token - before).toBeLessThanOrEqual(2);
    expect(anaf.counters.grants.refresh_token).toBeGreaterThanOrEqual(1);

    anaf.clearFaults();
    let fresh = old;
    for (let i = 0; i < 40 && fresh === old; i++) {
      await sleep(100);
      fresh = tokenOf(await erp(s.port, '/v1/profiles/outage/token', { key })).accessToken;
    }
    expect(fresh).not.toBe(old);
    expect(fresh).toBe(anaf.issued.accessTokens.at(-1));
    const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
    expect(log).toMatch(/serve\.refresh-backoff profile="outage" code="ANAF_UNAVAILABLE"/);
    expect(log).toMatch(/serve\.background profile="outage" outcome="refreshed"|serve\.token-served client="erp" profile="outage"/);
  });

  it('follows the vault written by other processes, and says when a new authorization is needed', async () => {
    await addProfile('shared');
    await authorize('shared', 90);
    const s = await serve();
    const first = tokenOf(await erp(s.port, '/v1/profiles/shared/token', { key })).accessToken;
    // The CLI (another process) refreshes: serve hands out what it stored.
    expect((await cli(['refresh', '--profile', 'shared'])).code).toBe(0);
    const second = tokenOf(await erp(s.port, '/v1/profiles/shared/token', { key })).accessToken;
    expect(second).not.toBe(first);
    expect(second).toBe(anaf.issued.accessTokens.at(-1));

    // A due token whose refresh token ANAF revoked: serve's own refresh marks it dead, and the ERP is told to re-authorize.
    await addProfile('revoked');
    const stale = await authorize('revoked', 10);
    // ANAF itself revokes only in its portal; the stand-in's RFC variant stands for that here.
    anaf.setOptions({ dialect: 'rfc' });
    await request(`${anaf.url}/anaf-oauth2/v1/revoke`, pki.ca.certPem, {
      form: { token: anaf.issued.refreshTokens.at(-1)!, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
    });
    anaf.setOptions({ dialect: 'anaf' });
    const dead = await erp(s.port, '/v1/profiles/revoked/token', { key });
    expect([dead.status, errorOf(dead).code]).toEqual([409, 'TOKEN_DEAD']);
    expect(errorOf(dead).message.en).toContain('USB key');
    expect(dead.body).not.toContain(stale);
    const again = await erp(s.port, '/v1/profiles/revoked/refresh', { key, method: 'POST' });
    expect([again.status, errorOf(again).code]).toEqual([409, 'TOKEN_DEAD']);
    const list = profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { key })).json);
    expect(list.profiles.find((p) => p.profile.name === 'revoked')!.state).toBe('dead');
  });

  it('on a kept connection, answers follow other processes at once: a revoked token or a removed key is not served again', async () => {
    await addProfile('kept');
    await authorize('kept', 90);
    const erpKey = await newKey('kept-erp');
    const s = await serve();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      let sockets = 0;
      const ask = (profile: string) => erp(s.port, `/v1/profiles/${profile}/token`, { key: erpKey, agent });
      const countSockets = agent.createConnection.bind(agent);
      agent.createConnection = (...args: Parameters<typeof countSockets>) => {
        sockets++;
        return countSockets(...args);
      };
      const first = tokenOf(await ask('kept')).accessToken;
      // Served again from what the service keeps, without a look at ANAF.
      const before = anaf.counters.grants.refresh_token;
      for (let i = 0; i < 20; i++) expect(tokenOf(await ask('kept')).accessToken).toBe(first);
      expect(anaf.counters.grants.refresh_token).toBe(before);

      expect((await cli(['revoke', '--profile', 'kept'])).code).toBe(0);
      const revoked = await ask('kept');
      expect(revoked.status).not.toBe(200);
      expect(revoked.body).not.toContain(first);

      await addProfile('kept2');
      await authorize('kept2', 90);
      expect((await ask('kept2')).status).toBe(200);
      expect((await cli(['clients', 'remove', 'kept-erp'])).code).toBe(0);
      const gone = await ask('kept2');
      expect([gone.status, errorOf(gone).code]).toEqual([401, 'API_KEY_INVALID']);
      // All of it over the one connection an ERP keeps.
      expect(sockets).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('hides the personal ID number in certificate subjects unless the client key allows it', async () => {
    await addProfile('holder');
    await authorize('holder', 90);
    // The holder's name as the USB token gives it, with the CNP a qualified certificate carries.
    const db = new Database(path.join(home, 'vault.sqlite'));
    db.prepare("UPDATE tokens SET cert_subject = 'CN=POPESCU ION,serialNumber=PNORO-1800101123456,C=RO' WHERE profile = 'holder'").run();
    db.close();
    const allowed = await newKey('hr');
    const shown = JSON.parse((await cli(['clients', 'list', '--json'])).stdout) as { name: string; personalId: boolean }[];
    expect(shown.find((c) => c.name === 'hr')?.personalId).toBe(false);
    const withId = (await runCli(['clients', 'add', 'payroll', '--personal-id', '--json'], env));
    expect(withId.code, withId.stderr).toBe(0);
    const payrollKey = (JSON.parse(withId.stdout) as { key: string }).key;
    clientKeys.push(payrollKey);
    const s = await serve();
    const subjectFor = async (k: string) =>
      profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { key: k })).json).profiles.find((p) => p.profile.name === 'holder')?.certificate?.subject;
    expect(await subjectFor(allowed)).toBe('CN=POPESCU ION,C=RO');
    expect(await subjectFor(payrollKey)).toBe('CN=POPESCU ION,serialNumber=PNORO-1800101123456,C=RO');
  });

  it('stops cleanly on SIGTERM and logs who got which token', async () => {
    const s = await serve();
    await erp(s.port, '/v1/profiles/fresh/token', { key });
    expect(await s.stop()).toBe(0);
    const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
    expect(log).toMatch(/serve\.token-served client="erp" profile="fresh" via="token"/);
    expect(log).toContain('serve.stop');
  });
});
