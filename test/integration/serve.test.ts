/**
 * `anaf-token serve` as an ERP meets it: a separate process on loopback, the proof of a client
 * key over a nonce, the Host/browser guards, refusals that slow down only the failing caller,
 * refreshes through the mTLS ANAF stand-in (single-flight under load, kept tokens while ANAF is
 * down), and a vault written by other processes at the same time.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstValue, openDatabase } from '../../native-host/src/vault/sqlite.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  auditResponseSchema,
  challengeResponseSchema,
  profilesResponseSchema,
  tokenResponseSchema,
  errorResponseSchema,
} from '../../native-host/src/serve/api.js';
import { authorizationFor } from '../../native-host/src/serve/client-keys.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { openAuthorize } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { request } from '../helpers/https.js';
import { challenge, erp, erpAnswers, ErpClient, startServeProcess, type ClientCredential, type ServeProcess } from '../helpers/serve-process.js';
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
let cred: ClientCredential;
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

async function newKey(name: string, ...flags: string[]): Promise<ClientCredential> {
  const r = await runCli(['clients', 'add', name, '--json', ...flags], env);
  expect(r.code, r.stderr).toBe(0);
  cliOutput.push(r.stderr);
  const k = (JSON.parse(r.stdout) as { key: string }).key;
  clientKeys.push(k);
  return { name, key: k };
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
  cred = await newKey('erp');
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
  it('takes a proof of the key over its own nonce and Host only; refuses Bearer, foreign Hosts and browsers', async () => {
    await addProfile('guarded');
    const s = await serve();
    expect(s.addresses).toEqual(['127.0.0.1', '::1']);
    expect(s.peerCheck).toBe(process.platform === 'linux' ? 'uid' : 'none');

    // /healthz and /v1/challenge need no key.
    expect((await erp(s.port, '/healthz')).json).toEqual({ status: 'ok', version: expect.any(String) });
    const c = await erp(s.port, '/v1/challenge');
    expect(challengeResponseSchema.parse(c.json).nonce).toHaveLength(43);
    expect(Date.parse(challengeResponseSchema.parse(c.json).expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);

    const noKey = await erp(s.port, '/v1/profiles');
    expect(noKey.status).toBe(401);
    expect(noKey.headers['www-authenticate']).toBe('AnafToken challenge="/v1/challenge"');
    expect(errorOf(noKey).code).toBe('API_KEY_INVALID');
    expect(errorOf(noKey).message.ro).toContain('/v1/challenge');

    // The old way, with the right key: refused, saying how to switch.
    const bearer = await erp(s.port, '/v1/profiles', { headers: { authorization: `Bearer ${cred.key}` } });
    expect([bearer.status, errorOf(bearer).code]).toEqual([401, 'API_BEARER_REFUSED']);
    expect(errorOf(bearer).message.en).toContain('AnafToken');

    const wrongKey = { name: 'erp', key: cred.key.slice(0, -1) + (cred.key.endsWith('A') ? 'B' : 'A') };
    expect((await erp(s.port, '/v1/profiles', { as: wrongKey })).status).toBe(401);
    expect((await erp(s.port, '/v1/profiles', { as: { name: 'nobody', key: cred.key } })).status).toBe(401);
    // A nonce this serve never issued (as a squatter would hand out), or a malformed header.
    expect((await erp(s.port, '/v1/profiles', { as: cred, nonce: 'A'.repeat(43) })).status).toBe(401);
    expect((await erp(s.port, '/v1/profiles', { headers: { authorization: 'AnafToken client="erp"' } })).status).toBe(401);

    // A proof made for another Host (the port a squatter listened on) does not pass here.
    const nonce = await challenge(s.port);
    const forOtherPort = authorizationFor(cred.name, cred.key, nonce, `127.0.0.1:${s.port + 1}`);
    expect((await erp(s.port, '/v1/profiles', { headers: { authorization: forOtherPort } })).status).toBe(401);
    // The same nonce, proved for the Host actually sent, does; and may be sent again.
    expect((await erp(s.port, '/v1/profiles', { as: cred, nonce })).status).toBe(200);
    expect((await erp(s.port, '/v1/profiles', { as: cred, nonce })).status).toBe(200);

    const rebinding = await erp(s.port, '/v1/profiles', { as: cred, host: `attacker.example:${s.port}` });
    expect(rebinding.status).toBe(403);
    expect(errorOf(rebinding).code).toBe('HOST_NOT_ALLOWED');
    expect((await erp(s.port, '/v1/profiles', { as: cred, host: '127.0.0.1:1' })).status).toBe(403);

    const fromPage = await erp(s.port, '/v1/profiles', { as: cred, headers: { origin: 'https://attacker.example' } });
    expect(fromPage.status).toBe(403);
    expect(errorOf(fromPage).code).toBe('WEB_ORIGIN_REFUSED');
    expect((await erp(s.port, '/v1/profiles', { as: cred, method: 'OPTIONS', headers: { origin: 'null' } })).status).toBe(403);
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'Sec-Fetch-Mode': 'no-cors' }, { referer: 'https://attacker.example/' }] as Record<
      string,
      string
    >[]) {
      const browser = await erp(s.port, '/v1/profiles', { as: cred, headers });
      expect([browser.status, errorOf(browser).code]).toEqual([403, 'WEB_ORIGIN_REFUSED']);
      expect((await erp(s.port, '/healthz', { headers })).status).toBe(403);
      expect((await erp(s.port, '/v1/challenge', { headers })).status).toBe(403);
    }

    // The right key, by every loopback name.
    expect((await erp(s.port, '/v1/profiles', { as: cred, host: `localhost:${s.port}` })).status).toBe(200);
    expect((await erp(s.port, '/v1/profiles', { as: cred, ipv6: true })).status).toBe(200);
    expect((await erp(s.port, '/v1/profiles', { as: cred, ipv6: true, host: `localhost:${s.port}` })).status).toBe(200);

    const unknown = await erp(s.port, '/v1/profiles/nobody/token', { as: cred });
    expect([unknown.status, errorOf(unknown).code]).toEqual([404, 'PROFILE_NOT_FOUND']);
    const noToken = await erp(s.port, '/v1/profiles/guarded/token', { as: cred });
    expect([noToken.status, errorOf(noToken).code]).toEqual([409, 'NO_TOKEN']);
    expect((await erp(s.port, '/v1/nothing', { as: cred })).status).toBe(404);
    const method = await erp(s.port, '/v1/profiles/guarded/token', { as: cred, method: 'POST' });
    expect([method.status, method.headers.allow]).toEqual([405, 'GET']);

    // A removed client's key stops working at once: the service reads the vault per request.
    const temp = await newKey('temporary');
    expect((await erp(s.port, '/v1/profiles', { as: temp })).status).toBe(200);
    expect((await cli(['clients', 'remove', 'temporary'])).code).toBe(0);
    expect((await erp(s.port, '/v1/profiles', { as: temp })).status).toBe(401);
    const list = JSON.parse((await cli(['clients', 'list', '--json'])).stdout) as { name: string; lastUsedAt?: string; oldKey: boolean }[];
    expect(list.map((c) => [c.name, c.oldKey])).toEqual([['erp', false]]);
    expect(list[0]!.lastUsedAt).toBeDefined();
  });

  it('serves a valid proof at once after 50 failures from the same address, and slows down only the failing caller', async () => {
    const s = await serve(['--check-interval', '0', '--refusal-log-every', '1s']);
    const wrong = { name: 'erp', key: `atk_${'x'.repeat(43)}` };
    // /healthz and browser-marked requests count nothing: the failures after them start from nothing.
    for (let i = 0; i < 30; i++) expect((await erp(s.port, '/healthz')).status).toBe(200);
    for (let i = 0; i < 20; i++) expect((await erp(s.port, '/v1/profiles', { as: wrong, headers: { 'sec-fetch-site': 'same-origin' } })).status).toBe(403);
    const first = performance.now();
    expect((await erp(s.port, '/v1/profiles', { as: wrong })).status).toBe(401);
    expect(performance.now() - first).toBeLessThan(90);

    // 50 wrong proofs for client "erp" from 127.0.0.1 at once; while they are held back, the valid one passes.
    const nonce = await challenge(s.port);
    const t0 = performance.now();
    const failing = Promise.all(
      Array.from({ length: 50 }, () => erp(s.port, '/v1/profiles', { as: wrong, nonce }).then((a) => [a.status, performance.now() - t0] as const)),
    );
    await sleep(50);
    const t1 = performance.now();
    const valid = await erp(s.port, '/v1/profiles', { as: cred });
    const validMs = performance.now() - t1;
    const failed = await failing;
    expect(valid.status).toBe(200);
    expect(validMs).toBeLessThan(300);
    expect(failed.every(([status]) => status === 401)).toBe(true);
    // Held back: a few at once, then 100 ms doubling up to a second.
    expect(Math.max(...failed.map(([, ms]) => ms))).toBeGreaterThan(900);
    // And after them, at once, from the same address.
    const t2 = performance.now();
    expect((await erp(s.port, '/v1/profiles', { as: cred })).status).toBe(200);
    expect(performance.now() - t2).toBeLessThan(300);
    // Another client name is not slowed down by erp's failures.
    const t3 = performance.now();
    expect((await erp(s.port, '/v1/profiles', { as: { name: 'someone-else', key: wrong.key } })).status).toBe(401);
    expect(performance.now() - t3).toBeLessThan(300);

    // The log sums the refusals up instead of a line per request.
    await s.stop();
    const lines = fs
      .readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes(`pid=${s.child.pid}`));
    const refused = lines.filter((l) => l.includes('serve.refused'));
    // 72 refusals: the first at once, the rest one line a second (a minute by default), the last at the stop.
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeLessThanOrEqual(6);
    expect(lines.length).toBeLessThanOrEqual(10);
    const count = (re: RegExp) => refused.reduce((n, l) => n + Number(re.exec(l)?.[1] ?? 0), 0);
    expect(count(/ proof=(\d+)/)).toBe(51);
    expect(count(/ web=(\d+)/)).toBe(20);
    expect(count(/ client=(\d+)/)).toBe(1);
    expect(count(/clients="(?:[^"]*,)?erp:(\d+)/)).toBe(51);
  });

  it('uses only keys sealed with the vault key: an old hash-only row says to add the client again, a planted row never works', async () => {
    const s = await serve();
    const db = openDatabase(path.join(home, 'vault.sqlite'));
    // What a build before sealed keys left: a SHA-256 of the key and nothing else.
    const oldKey = `atk_${'o'.repeat(43)}`;
    db.prepare('INSERT INTO api_clients (name, key_hash, created_at) VALUES (?, ?, ?)').run(
      'old-erp',
      crypto.createHash('sha256').update(oldKey).digest(),
      Date.now(),
    );
    // Planted without the vault key: made-up bytes, and erp's own sealed key copied under another name.
    db.prepare('INSERT INTO api_clients (name, key_hash, key_sealed, created_at) VALUES (?, ?, ?, ?)').run(
      'planted',
      Buffer.alloc(0),
      crypto.randomBytes(80),
      Date.now(),
    );
    const erpSealed = firstValue(db.prepare("SELECT key_sealed FROM api_clients WHERE name = 'erp'")) as Uint8Array;
    db.prepare('INSERT INTO api_clients (name, key_hash, key_sealed, created_at) VALUES (?, ?, ?, ?)').run('copied', Buffer.alloc(0), erpSealed, Date.now());
    db.close();
    await sleep(20);

    const old = await erp(s.port, '/v1/profiles', { as: { name: 'old-erp', key: oldKey } });
    expect([old.status, errorOf(old).code]).toEqual([401, 'API_CLIENT_KEY_OLD']);
    expect(errorOf(old).message.en).toContain('clients add');
    expect((await erp(s.port, '/v1/profiles', { headers: { authorization: `Bearer ${oldKey}` } })).status).toBe(401);
    expect((await erp(s.port, '/v1/profiles', { as: { name: 'planted', key: oldKey } })).status).toBe(401);
    expect((await erp(s.port, '/v1/profiles', { as: { name: 'copied', key: cred.key } })).status).toBe(401);
    expect((await erp(s.port, '/v1/profiles', { as: cred })).status).toBe(200);

    const listed = await cli(['clients', 'list']);
    expect(listed.stdout).toMatch(/old-erp .* OLD: unusable/);
    expect(listed.stderr).toContain('anaf-token clients add old-erp');
    expect(JSON.parse((await cli(['clients', 'list', '--json'])).stdout)).toContainEqual(expect.objectContaining({ name: 'old-erp', oldKey: true }));
    // "clients add" again replaces the old row (any other row of that name is kept: CLIENT_EXISTS).
    const again = await newKey('old-erp');
    expect((await erp(s.port, '/v1/profiles', { as: again })).status).toBe(200);
    expect((await runCli(['clients', 'add', 'old-erp'], env)).stderr).toContain('CLIENT_EXISTS');
    for (const n of ['old-erp', 'planted', 'copied']) expect((await cli(['clients', 'remove', n])).code).toBe(0);
    // The vault holds no key in the clear.
    expect(fs.readFileSync(path.join(home, 'vault.sqlite')).includes(Buffer.from(cred.key))).toBe(false);
  });

  it('hands out the stored token when not due, and lists profiles without secrets', async () => {
    await addProfile('fresh');
    const access = await authorize('fresh', 90);
    const s = await serve();
    anaf.resetCounters();
    const t = await erp(s.port, '/v1/profiles/fresh/token', { as: cred });
    expect(t.status).toBe(200);
    expect(tokenOf(t)).toMatchObject({ profile: 'fresh', accessToken: access, tokenType: 'Bearer' });
    expect(Date.parse(tokenOf(t).expiresAt) - Date.now()).toBeGreaterThan(89 * DAY * 1000);
    expect(anaf.counters.requests.token).toBe(0);
    const list = profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { as: cred })).json);
    expect(list.profiles.find((p) => p.profile.name === 'fresh')).toMatchObject({ state: 'valid' });
    expect(JSON.stringify(list)).not.toContain(CLIENT_SECRET);

    // POST refresh follows the refresh rule (tokens/due.ts): 89 days left, nothing a refresh could
    // help, so the current token and no call to ANAF.
    const notDue = await erp(s.port, '/v1/profiles/fresh/refresh', { as: cred, method: 'POST' });
    expect(notDue.status).toBe(200);
    expect(tokenOf(notDue).accessToken).toBe(access);
    expect(anaf.counters.requests.token).toBe(0);
    // Inside the refresh window it refreshes, once: asked again at once, it hands out what it got.
    const db = openDatabase(path.join(home, 'vault.sqlite'));
    db.prepare("UPDATE tokens SET access_expires_at = ? WHERE profile = 'fresh'").run(Date.now() + 5 * DAY * 1000);
    db.close();
    await sleep(20); // serve looks for other processes' commits at most every 10 ms
    const r = await erp(s.port, '/v1/profiles/fresh/refresh', { as: cred, method: 'POST' });
    expect(r.status).toBe(200);
    expect(anaf.counters.grants.refresh_token).toBe(1);
    expect(tokenOf(r).accessToken).toBe(anaf.issued.accessTokens.at(-1));
    const again = await erp(s.port, '/v1/profiles/fresh/refresh', { as: cred, method: 'POST' });
    expect(tokenOf(again).accessToken).toBe(tokenOf(r).accessToken);
    expect(anaf.counters.grants.refresh_token).toBe(1);
    expect(tokenOf(await erp(s.port, '/v1/profiles/fresh/token', { as: cred })).accessToken).toBe(tokenOf(r).accessToken);
  });

  it('50 concurrent requests during a refresh cause one refresh at ANAF, and all get the new token', async () => {
    await addProfile('busy');
    const old = await authorize('busy', 10);
    const s = await serve();
    anaf.resetCounters();
    anaf.setFaults({ delayMs: 700, endpoints: ['token'] });
    const answers = await Promise.all(Array.from({ length: 50 }, () => erp(s.port, '/v1/profiles/busy/token', { as: cred })));
    anaf.clearFaults();
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(anaf.counters.grants.refresh_token).toBe(1);
    const fresh = anaf.issued.accessTokens.at(-1)!;
    expect(fresh).not.toBe(old);
    expect(new Set(answers.map((a) => tokenOf(a).accessToken))).toEqual(new Set([fresh]));
    // Not due any more: the next request costs ANAF nothing.
    expect(tokenOf(await erp(s.port, '/v1/profiles/busy/token', { as: cred })).accessToken).toBe(fresh);
    expect(anaf.counters.requests.token).toBe(1);

    // POST refresh right after a refresh answers the fresh token without asking ANAF again.
    const again = await erp(s.port, '/v1/profiles/busy/refresh', { as: cred, method: 'POST' });
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
    const during = await erp(s.port, '/v1/profiles/outage/token', { as: cred });
    expect([during.status, tokenOf(during).accessToken]).toEqual([200, old]);
    const list = profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { as: cred })).json);
    expect(list.profiles.find((p) => p.profile.name === 'outage')!.lastError).toContain('ANAF_UNAVAILABLE');
    // A burst of ERP requests during the outage does not hammer ANAF: they wait for the backoff.
    const before = anaf.counters.grants.refresh_token;
    await Promise.all(Array.from({ length: 20 }, () => erp(s.port, '/v1/profiles/outage/token', { as: cred })));
    expect(anaf.counters.grants.refresh_token - before).toBeLessThanOrEqual(2);
    expect(anaf.counters.grants.refresh_token).toBeGreaterThanOrEqual(1);

    anaf.clearFaults();
    let fresh = old;
    for (let i = 0; i < 40 && fresh === old; i++) {
      await sleep(100);
      fresh = tokenOf(await erp(s.port, '/v1/profiles/outage/token', { as: cred })).accessToken;
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
    const first = tokenOf(await erp(s.port, '/v1/profiles/shared/token', { as: cred })).accessToken;
    // The CLI (another process) refreshes: serve hands out what it stored.
    expect((await cli(['refresh', '--profile', 'shared'])).code).toBe(0);
    const second = tokenOf(await erp(s.port, '/v1/profiles/shared/token', { as: cred })).accessToken;
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
    const dead = await erp(s.port, '/v1/profiles/revoked/token', { as: cred });
    expect([dead.status, errorOf(dead).code]).toEqual([409, 'TOKEN_DEAD']);
    expect(errorOf(dead).message.en).toContain('USB key');
    expect(dead.body).not.toContain(stale);
    const again = await erp(s.port, '/v1/profiles/revoked/refresh', { as: cred, method: 'POST' });
    expect([again.status, errorOf(again).code]).toEqual([409, 'TOKEN_DEAD']);
    const list = profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { as: cred })).json);
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
      const client = new ErpClient(s.port, erpKey, { agent });
      const ask = (profile: string) => client.get(`/v1/profiles/${profile}/token`);
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
      // All of it over the one connection an ERP keeps, with one nonce (and one more after the key was removed).
      expect(sockets).toBe(1);
      expect(client.challenges).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it('hides the personal ID number in certificate subjects unless the client key allows it', async () => {
    await addProfile('holder');
    await authorize('holder', 90);
    // The holder's name as the USB token gives it, with the CNP a qualified certificate carries.
    const db = openDatabase(path.join(home, 'vault.sqlite'));
    db.prepare("UPDATE tokens SET cert_subject = 'CN=POPESCU ION,serialNumber=PNORO-1800101123456,C=RO' WHERE profile = 'holder'").run();
    db.close();
    const allowed = await newKey('hr');
    const shown = JSON.parse((await cli(['clients', 'list', '--json'])).stdout) as { name: string; personalId: boolean }[];
    expect(shown.find((c) => c.name === 'hr')?.personalId).toBe(false);
    const payrollKey = await newKey('payroll', '--personal-id');
    const s = await serve();
    const subjectFor = async (k: ClientCredential) =>
      profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { as: k })).json).profiles.find((p) => p.profile.name === 'holder')?.certificate?.subject;
    expect(await subjectFor(allowed)).toBe('CN=POPESCU ION,C=RO');
    expect(await subjectFor(payrollKey)).toBe('CN=POPESCU ION,serialNumber=PNORO-1800101123456,C=RO');
  });

  it('stops cleanly on SIGTERM and logs who got which token', async () => {
    const s = await serve();
    await erp(s.port, '/v1/profiles/fresh/token', { as: cred });
    expect(await s.stop()).toBe(0);
    const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
    expect(log).toMatch(/serve\.token-served client="erp" profile="fresh" via="token"/);
    expect(log).toContain('serve.stop');
  });

  it('a client scoped to some profiles gets only their tokens and statuses; the audit says who got which token, and whom a profile was refused', async () => {
    await addProfile('scope-a');
    await addProfile('scope-b');
    await authorize('scope-a', 90);
    await authorize('scope-b', 90);
    const unknown = await runCli(['clients', 'add', 'typo', '--profiles', 'scope-a,nope'], env);
    expect([unknown.code, unknown.stderr]).toEqual([expect.any(Number), expect.stringContaining('PROFILE_NOT_FOUND')]);
    const scoped = await newKey('only-a', '--profiles', 'scope-a');
    const s = await serve();

    expect(tokenOf(await erp(s.port, '/v1/profiles/scope-a/token', { as: scoped })).profile).toBe('scope-a');
    const refused = await erp(s.port, '/v1/profiles/scope-b/token', { as: scoped });
    expect([refused.status, errorOf(refused).code]).toEqual([403, 'API_PROFILE_NOT_ALLOWED']);
    expect(errorOf(refused).message.ro).toContain('--profiles');
    // Not even whether a profile exists is told outside the scope.
    expect(errorOf(await erp(s.port, '/v1/profiles/nope/token', { as: scoped })).code).toBe('API_PROFILE_NOT_ALLOWED');
    expect((await erp(s.port, '/v1/profiles/scope-b/refresh', { as: scoped, method: 'POST' })).status).toBe(403);
    const names = profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { as: scoped })).json).profiles.map((p) => p.profile.name);
    expect(names).toEqual(['scope-a']);
    // The unscoped client sees both.
    const all = profilesResponseSchema.parse((await erp(s.port, '/v1/profiles', { as: cred })).json).profiles.map((p) => p.profile.name);
    expect(all).toEqual(expect.arrayContaining(['scope-a', 'scope-b']));
    for (let i = 0; i < 5; i++) expect((await erp(s.port, '/v1/profiles/scope-b/token', { as: cred })).status).toBe(200);
    // `token` prints the token by contract: its output stays out of the secret scan.
    for (let i = 0; i < 2; i++) expect((await runCli(['token', '--profile', 'scope-b'], env)).code).toBe(0);
    await s.stop(); // flushes the audit
    running.splice(running.indexOf(s), 1);

    const rows = JSON.parse((await cli(['audit', '--json'])).stdout) as {
      profile: string;
      client: string;
      generation: number;
      action: string;
      host: string;
      osUser: string;
    }[];
    const of = (profile: string) => rows.filter((r) => r.profile === profile).map((r) => [r.client, r.action, r.generation]);
    // One row per client and generation however often it asked; one per minute for the refusals.
    expect(of('scope-a')).toEqual([['only-a', 'token', 1]]);
    expect(of('scope-b').sort()).toEqual([
      ['cli', 'token', 1],
      ['erp', 'token', 1],
      ['only-a', 'refused', 0],
    ]);
    expect(of('nope')).toEqual([['only-a', 'refused', 0]]);
    expect(rows[0]!.host).toBe(os.hostname());
    expect(JSON.parse((await cli(['audit', '--json', '--profile', 'scope-a'])).stdout)).toHaveLength(1);
    const listed = JSON.parse((await cli(['clients', 'list', '--json'])).stdout) as { name: string; profiles: string[] | null }[];
    expect(listed.find((c) => c.name === 'only-a')!.profiles).toEqual(['scope-a']);

    // Over the API: a scoped client reads the audit of its own profiles only.
    const s2 = await serve();
    const mine = auditResponseSchema.parse((await erp(s2.port, '/v1/audit', { as: scoped })).json).entries;
    expect(new Set(mine.map((e) => e.profile))).toEqual(new Set(['scope-a']));
    expect(errorOf(await erp(s2.port, '/v1/audit?profile=scope-b', { as: scoped })).code).toBe('API_PROFILE_NOT_ALLOWED');
    const everything = auditResponseSchema.parse((await erp(s2.port, '/v1/audit?limit=2', { as: cred })).json).entries;
    expect(everything).toHaveLength(2);
    expect((await erp(s2.port, '/v1/audit?limit=0', { as: cred })).status).toBe(400);
    expect((await erp(s2.port, '/v1/audit?since=yesterday', { as: cred })).status).toBe(400);
  });
});
