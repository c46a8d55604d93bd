/**
 * `anaf-token check`: real CLI processes asking the mTLS ANAF stand-in's TestOauth hello whether
 * the stored access token works. One request per check, never a refresh, never the token printed.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tokenCheckSchema } from '#shared/index.js';
import { resolvePaths } from '../../native-host/src/config/paths.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { openAuthorize } from '../helpers/browser.js';
import { runCli, transcript } from '../helpers/cli.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { tempDir } from '../helpers/temp.js';
import { makePki, type Pki } from '../pki/make-pki.js';

const CLIENT_ID = 'check-test-client';
const CLIENT_SECRET = `check-secret-${Math.random().toString(36).slice(2)}`;
const REDIRECT = 'https://erp.example.ro/anaf/callback';
const DAY = 86_400;
/** Stored by the test itself, unknown to the stand-in. */
const PLANTED = `planted-access-${Math.random().toString(36).slice(2)}-0123456789`;

let pki: Pki;
let anaf: AnafStandin;
let env: NodeJS.ProcessEnv;
let home: string;
const homes: string[] = [];

const cli = (args: string[], input?: string) => runCli(args, env, input);

async function addProfile(name = 'firma', serverUrl = anaf.url) {
  const r = await cli(['profile', 'add', '--name', name, '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT, '--env', serverUrl], `${CLIENT_SECRET}\n`);
  expect(r.code, r.stderr).toBe(0);
}

async function authorized(name = 'firma') {
  await addProfile(name);
  const start = JSON.parse((await cli(['authorize', '--profile', name, '--json'])).stdout) as { authorizeUrl: string };
  const browser = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
  const done = await cli(['authorize', '--profile', name, '--callback-url'], `${browser.location!}\n`);
  expect(done.code, done.stderr).toBe(0);
}

/** A token put into the vault by hand, as if ANAF had issued it. */
function plant(name: string, accessToken: string) {
  const vault = Vault.open({ paths: resolvePaths(home), env: { ANAF_TOKEN_KEYSTORE: 'file' } });
  const now = Date.now();
  vault.saveTokens(
    name,
    { accessToken, refreshToken: `${accessToken}-refresh`, accessExpiresAt: now + 80 * DAY * 1000, refreshExpiresAt: now + 300 * DAY * 1000 },
    { kind: 'authorization', certificate: {}, stateEchoed: true },
  );
  vault.close();
}

/** A loopback port nothing listens on (fetch refuses the well-known "bad" ports such as 1). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }] });
});

beforeEach(() => {
  home = tempDir('home');
  homes.push(home);
  env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile };
  anaf.clearFaults();
  anaf.setOptions({ accessTokenTtlSec: 90 * DAY });
  anaf.resetCounters();
});

afterAll(async () => {
  const logs = homes.flatMap((h) => {
    const f = path.join(h, 'logs', 'anaf-token.log');
    return fs.existsSync(f) ? [fs.readFileSync(f, 'utf8')] : [];
  });
  const hits = scanForSecrets(
    [...transcript, ...logs],
    [CLIENT_SECRET, PLANTED, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens, ...anaf.issued.codes],
  );
  await anaf.close();
  expect(logs.join('\n')).toContain('token.check');
  expect(anaf.issued.accessTokens.length).toBeGreaterThan(2);
  expect(hits).toEqual([]);
});

describe('anaf-token check', () => {
  it('says ok for a fresh token, with one request to hello and no refresh', async () => {
    await authorized();
    anaf.resetCounters();
    const r = await cli(['check', '--profile', 'firma']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('firma: ok (HTTP 200): ANAF accepts the access token / ANAF acceptă tokenul de acces\n');
    expect(r.stderr).toBe('');

    const j = await cli(['check', '--profile', 'firma', '--json']);
    expect(j.code).toBe(0);
    const check = tokenCheckSchema.parse(JSON.parse(j.stdout));
    expect(check).toEqual({ profile: 'firma', result: 'ok', httpStatus: 200, checkedAt: expect.any(String) });
    expect(Math.abs(Date.parse(check.checkedAt) - Date.now())).toBeLessThan(60_000);
    expect(Object.keys(JSON.parse(j.stdout) as object).sort()).toEqual(['checkedAt', 'httpStatus', 'profile', 'result']);
    expect(anaf.counters.requests.hello).toBe(2);
    expect(anaf.counters.requests.token).toBe(0);
  });

  it('says not-authorized with exit 6 TOKEN_NOT_AUTHORIZED once ANAF sees the access token expired, and does not refresh it', async () => {
    await authorized();
    anaf.resetCounters();
    anaf.advanceClock(91 * DAY);
    try {
      const r = await cli(['check', '--profile', 'firma']);
      expect(r.code).toBe(6);
      expect(r.stdout).toMatch(/^firma: not-authorized \(HTTP 401\)/);
      expect(r.stderr).toContain('eroare [TOKEN_NOT_AUTHORIZED]');
      expect(r.stderr).toContain('error [TOKEN_NOT_AUTHORIZED]');
      expect(r.stderr).toContain('ANAF answered 401 invalid_token');
      expect(r.stderr).toContain('24 hours');
      expect(r.stderr).toContain('cheia USB');
      const j = await cli(['check', '--profile', 'firma', '--json']);
      expect(j.code).toBe(6);
      expect(tokenCheckSchema.parse(JSON.parse(j.stdout))).toMatchObject({
        profile: 'firma',
        result: 'not-authorized',
        httpStatus: 401,
        detail: 'ANAF answered 401 invalid_token',
      });
    } finally {
      anaf.advanceClock(-91 * DAY);
    }
    expect(anaf.counters.requests.hello).toBe(2);
    expect(anaf.counters.requests.token).toBe(0);
    // Locally the token still looks valid: the check changed nothing.
    const [s] = JSON.parse((await cli(['list', '--json'])).stdout) as { state: string }[];
    expect(s!.state).toBe('valid');
  });

  it('says not-authorized for a token the stand-in does not know', async () => {
    await addProfile();
    plant('firma', PLANTED);
    const r = await cli(['check', '--profile', 'firma', '--json']);
    expect(r.code).toBe(6);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'not-authorized', httpStatus: 401 });
  });

  it('says unavailable with exit 5 ANAF_UNAVAILABLE when hello answers 503, and when ANAF cannot be reached', async () => {
    await authorized();
    anaf.resetCounters();
    anaf.setFaults({ status: 503, endpoints: ['hello'] });
    const r = await cli(['check', '--profile', 'firma']);
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/^firma: unavailable \(HTTP 503\)/);
    expect(r.stderr).toContain('ANAF_UNAVAILABLE');
    expect(r.stderr).toContain('ANAF answered HTTP 503');
    const j = await cli(['check', '--profile', 'firma', '--json']);
    expect(j.code).toBe(5);
    expect(tokenCheckSchema.parse(JSON.parse(j.stdout))).toMatchObject({ result: 'unavailable', httpStatus: 503, detail: 'ANAF answered HTTP 503' });
    expect(anaf.counters.requests.hello).toBe(2); // one request each: no retry
    expect(anaf.counters.requests.token).toBe(0);

    await addProfile('down', `https://127.0.0.1:${await closedPort()}`);
    plant('down', PLANTED);
    const down = await cli(['check', '--profile', 'down', '--json']);
    expect(down.code).toBe(5);
    const c = tokenCheckSchema.parse(JSON.parse(down.stdout));
    expect(c).toMatchObject({ result: 'unavailable', detail: 'the request to ANAF failed: ECONNREFUSED' });
    expect(c.httpStatus).toBeUndefined();
  });

  it('says what is missing: a profile (exit 3) or a token (exit 4)', async () => {
    expect((await cli(['check', '--profile', 'nobody'])).code).toBe(3);
    await addProfile();
    const none = await cli(['check', '--profile', 'firma', '--json']);
    expect(none.code).toBe(4);
    expect(JSON.parse(none.stdout)).toMatchObject({ error: { code: 'NO_TOKEN' } });
    expect((await cli(['check'])).code).toBe(2);
    expect(anaf.counters.requests.hello).toBe(0);
  });
});
