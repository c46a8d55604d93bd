/**
 * `anaf-token doctor`: every check against a working setup and against a broken one, then the
 * command itself. Browsers are played by --user-data-dir folders and a temporary home; ANAF by
 * the stand-in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../native-host/src/vault/sqlite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_ID, NATIVE_HOST_NAME } from '#shared/index.js';
import type { Paths } from '../../native-host/src/config/paths.js';
import { anafCheck } from '../../native-host/src/doctor/anaf-check.js';
import type { Check, Finding } from '../../native-host/src/doctor/check.js';
import { DOCTOR_CHECKS } from '../../native-host/src/doctor/checks.js';
import { nativeHostCheck } from '../../native-host/src/doctor/native-host-check.js';
import { profilesCheck } from '../../native-host/src/doctor/profiles-check.js';
import { doctorContext, renderReport, runDoctor, type DoctorContextOptions } from '../../native-host/src/doctor/run-doctor.js';
import { tokensCheck } from '../../native-host/src/doctor/tokens-check.js';
import { vaultCheck } from '../../native-host/src/doctor/vault-check.js';
import { targetForUserDataDir } from '../../native-host/src/install/browsers.js';
import { install } from '../../native-host/src/install/install.js';
import { HOST_VERSION } from '../../native-host/src/version.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { CLI, runCli } from '../helpers/cli.js';
import { tempDir, tempPaths } from '../helpers/temp.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { makeSoftHsmToken, type SoftHsmToken } from '../pki/softhsm-token.js';
import { makePkcs11Check, pkcs11Check } from '../../native-host/src/doctor/pkcs11-check.js';
import { makeHelloCheck } from '../../native-host/src/doctor/hello-check.js';
import { AppError } from '#shared/index.js';
import { openAuthorize } from '../helpers/browser.js';

const env = { ANAF_TOKEN_KEYSTORE: 'file' };
const DAY = 86_400_000;
const SECRET = 'secret-123456';
const REDIRECT = 'https://erp.example.ro/anaf/callback';
let pki: Pki;
let anaf: AnafStandin;
let token: SoftHsmToken;

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  anaf = await startAnafStandin({ pki, clients: [{ clientId: 'cid', clientSecret: SECRET, redirectUris: [REDIRECT] }] });
  token = await makeSoftHsmToken(tempDir('hsm'), pki);
});

/** The PKCS#11 worker inherits this process's environment: point SoftHSM at a token folder for one call. */
async function withSoftHsm<T>(conf: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = before;
  }
}
afterAll(async () => {
  await anaf.close();
});

async function run(check: Check, o: Partial<DoctorContextOptions> & { paths: Paths }): Promise<Finding[]> {
  const ctx = doctorContext({ home: tempDir('home'), env, extraCa: pki.ca.certPem, timeoutMs: 5_000, ...o });
  try {
    return await check.run(ctx);
  } finally {
    await ctx.close();
  }
}

const statuses = (fs: Finding[]) => fs.map((f) => f.status);

function vaultWith(paths: Paths, profiles: { name: string; redirectUri?: string; env?: string }[]): Vault {
  const vault = Vault.open({ paths, env });
  for (const p of profiles) {
    vault.saveProfile(
      { name: p.name, clientId: 'cid', clientSecret: SECRET, redirectUri: p.redirectUri ?? REDIRECT, env: p.env ?? anaf.url, refreshWindowDays: 14 },
      'create',
    );
  }
  return vault;
}

function saveToken(vault: Vault, name: string, accessDays: number, refreshDays: number) {
  const now = Date.now();
  vault.saveTokens(
    name,
    {
      accessToken: `access-${name}-0123456789`,
      refreshToken: `refresh-${name}-0123456789`,
      accessExpiresAt: now + accessDays * DAY,
      refreshExpiresAt: now + refreshDays * DAY,
    },
    { kind: 'authorization', certificate: {}, stateEchoed: true },
  );
}

/** A token the stand-in issued, obtained as a user does (CLI + the browser's TLS login), so ANAF's hello accepts it. */
async function authorizeForReal(cliEnv: NodeJS.ProcessEnv, name: string): Promise<void> {
  const start = await runCli(['authorize', '--profile', name, '--json'], cliEnv);
  expect(start.code, start.stderr).toBe(0);
  const browser = await openAuthorize((JSON.parse(start.stdout) as { authorizeUrl: string }).authorizeUrl, pki.ca.certPem, pki.client);
  const done = await runCli(['authorize', '--profile', name, '--callback-url'], cliEnv, `${browser.location!}\n`);
  expect(done.code, done.stderr).toBe(0);
}

/** A SoftHSM configuration with no token in it: the USB key is not plugged in. */
function emptySoftHsm(): string {
  const empty = tempDir('hsm-empty');
  fs.mkdirSync(path.join(empty, 'tokens'));
  fs.writeFileSync(path.join(empty, 'softhsm2.conf'), `directories.tokendir = ${path.join(empty, 'tokens')}\n`);
  return path.join(empty, 'softhsm2.conf');
}

describe('doctor: native messaging host', () => {
  function installed() {
    const paths = tempPaths('dr-home');
    const udd = tempDir('udd');
    install({ paths, targets: [targetForUserDataDir(udd)], extensionIds: [EXTENSION_ID], cliPath: CLI, platform: 'linux' });
    const manifestFile = path.join(udd, 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`);
    const launcher = (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { path: string }).path;
    return { paths, udd, manifestFile, launcher };
  }

  it('is ok when the manifest leads to a launcher that answers hello', async () => {
    const { paths, udd } = installed();
    const [f] = await run(nativeHostCheck, { paths, userDataDirs: [udd] });
    expect(f).toMatchObject({ status: 'ok', subject: udd });
    expect(f!.message).toContain(`host ${HOST_VERSION}`);
  });

  it('fails for an installed browser without the manifest, and warns when no browser is there', async () => {
    const home = tempDir('home');
    fs.mkdirSync(path.join(home, '.config', 'google-chrome'), { recursive: true });
    const [f, ...rest] = await run(nativeHostCheck, { paths: tempPaths(), home, platform: 'linux' });
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ status: 'fail', subject: 'chrome' });
    expect(f!.message).toContain('no host manifest');
    expect(f!.advice!.en).toContain('anaf-token install --browser chrome');
    expect(statuses(await run(nativeHostCheck, { paths: tempPaths(), platform: 'linux' }))).toEqual(['warn']);
    const none = await run(nativeHostCheck, { paths: tempPaths(), userDataDirs: [tempDir('udd')] });
    expect(none[0]!.advice!.en).toContain('--user-data-dir');
  });

  it('fails when the manifest is damaged or names a missing, non-executable or broken launcher', async () => {
    const a = installed();
    fs.writeFileSync(a.manifestFile, '{ not json');
    expect((await run(nativeHostCheck, { paths: a.paths, userDataDirs: [a.udd] }))[0]).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('not valid'),
    });

    const b = installed();
    const m = JSON.parse(fs.readFileSync(b.manifestFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(b.manifestFile, JSON.stringify({ ...m, path: path.join(b.udd, 'gone.sh') }));
    expect((await run(nativeHostCheck, { paths: b.paths, userDataDirs: [b.udd] }))[0]!.message).toContain('does not exist');

    const c = installed();
    fs.chmodSync(c.launcher, 0o600);
    expect((await run(nativeHostCheck, { paths: c.paths, userDataDirs: [c.udd] }))[0]!.message).toContain('not executable');

    const d = installed();
    fs.writeFileSync(d.launcher, '#!/bin/sh\necho "node: not found" >&2\nexit 127\n');
    const [broken] = await run(nativeHostCheck, { paths: d.paths, userDataDirs: [d.udd] });
    expect(broken).toMatchObject({ status: 'fail' });
    expect(broken!.message).toContain('exited with code 127: node: not found');
  });
});

describe('doctor: vault', () => {
  it('warns when there is no vault yet, without creating one', async () => {
    const paths = tempPaths();
    expect(statuses(await run(vaultCheck, { paths }))).toEqual(['warn']);
    expect(fs.existsSync(paths.vaultFile)).toBe(false);
  });

  it('is ok for a private vault whose key opens every secret', async () => {
    const paths = tempPaths();
    vaultWith(paths, [{ name: 'firma' }]).close();
    const [f] = await run(vaultCheck, { paths });
    expect(f).toMatchObject({ status: 'ok', message: expect.stringContaining(paths.keyFile) });
  });

  it('fails when the key does not open the vault, and when a row does not open', async () => {
    const paths = tempPaths();
    vaultWith(paths, [{ name: 'firma' }]).close();
    fs.writeFileSync(paths.keyFile, Buffer.alloc(32, 7).toString('base64'));
    const [f] = await run(vaultCheck, { paths });
    expect(f).toMatchObject({ status: 'fail', message: expect.stringContaining('VAULT_LOCKED') });
    expect(f!.advice!.ro).toContain('Seiful');

    const moved = tempPaths();
    vaultWith(moved, [{ name: 'a' }, { name: 'b' }]).close();
    const db = openDatabase(moved.vaultFile);
    db.prepare("UPDATE profiles SET secret = (SELECT secret FROM profiles WHERE name = 'a') WHERE name = 'b'").run();
    db.close();
    expect(await run(vaultCheck, { paths: moved })).toEqual([expect.objectContaining({ status: 'fail', subject: 'b' })]);
  });

  it('warns when others can read the vault or its key', async () => {
    const paths = tempPaths();
    vaultWith(paths, [{ name: 'firma' }]).close();
    fs.chmodSync(paths.keyFile, 0o644);
    const findings = await run(vaultCheck, { paths });
    expect(findings[0]).toMatchObject({ status: 'warn', subject: 'permissions', message: expect.stringContaining(paths.keyFile) });
    expect(findings[0]!.advice!.en).toContain('chmod go-rwx');
  });
});

describe('doctor: profiles', () => {
  it('accepts an https callback and fails or warns on the broken ones', async () => {
    const paths = tempPaths();
    vaultWith(paths, [
      { name: 'good' },
      { name: 'plain' },
      { name: 'clash', redirectUri: 'https://erp.example.ro/cb?code=1' },
      { name: 'odd', redirectUri: 'https://ERP.example.ro:443/cb' },
    ]).close();
    // Saving refuses http:// now; a vault from an older build may still hold one.
    const db = openDatabase(paths.vaultFile);
    db.prepare("UPDATE profiles SET redirect_uri = 'http://erp.example.ro/anaf/callback' WHERE name = 'plain'").run();
    db.close();
    const by = (name: string, fs: Finding[]) => fs.filter((f) => f.subject === name).map((f) => f.status);
    const findings = await run(profilesCheck, { paths });
    expect(by('good', findings)).toEqual(['ok']);
    expect(by('plain', findings)).toEqual(['fail']);
    expect(findings.find((f) => f.subject === 'plain')!.message).toContain('not https');
    expect(by('clash', findings)).toEqual(['fail']);
    expect(by('odd', findings)).toEqual(['warn']);
    expect(findings.find((f) => f.subject === 'odd')!.message).toContain('https://erp.example.ro/cb');
  });
});

describe('doctor: ANAF reachable and the clock', () => {
  it('is ok for the reachable server with a right clock', async () => {
    const paths = tempPaths();
    vaultWith(paths, [{ name: 'firma' }]).close();
    const [f] = await run(anafCheck, { paths });
    expect(f).toMatchObject({ status: 'ok', subject: anaf.url });
    expect(f!.message).toMatch(/reachable \(HTTP \d+ in \d+ ms\); clock within \d+ s/);
  });

  it('fails when the server is unreachable or its certificate is not trusted', async () => {
    const paths = tempPaths();
    vaultWith(paths, [{ name: 'down', env: 'https://127.0.0.1:1' }]).close();
    const [down] = await run(anafCheck, { paths });
    expect(down).toMatchObject({ status: 'fail', message: expect.stringContaining('ECONNREFUSED') });
    expect(down!.advice!.en).toContain('proxy');

    const tls = tempPaths();
    vaultWith(tls, [{ name: 'firma' }]).close();
    const [untrusted] = await run(anafCheck, { paths: tls, extraCa: undefined });
    expect(untrusted).toMatchObject({ status: 'fail', message: expect.stringContaining('not trusted') });
  });

  it('warns when the clock is a few minutes off and fails when it is far off', async () => {
    const paths = tempPaths();
    vaultWith(paths, [{ name: 'firma' }]).close();
    const [far] = await run(anafCheck, { paths, now: () => Date.now() + 10 * 60_000 });
    expect(far).toMatchObject({ status: 'fail', message: expect.stringMatching(/clock is 6\d\d s ahead of the server/) });
    const [near] = await run(anafCheck, { paths, now: () => Date.now() - 2 * 60_000 });
    expect(near).toMatchObject({ status: 'warn', message: expect.stringMatching(/behind the server/) });
  });
});

describe('doctor: tokens', () => {
  it('says which tokens are fine, missing, dead, failing, refused, expired or near the end of their refresh token', async () => {
    const paths = tempPaths();
    const vault = vaultWith(
      paths,
      ['ok', 'none', 'dead', 'failing', 'refused', 'ending', 'expired'].map((name) => ({ name })),
    );
    saveToken(vault, 'ok', 80, 300);
    saveToken(vault, 'dead', 80, 300);
    vault.markDead('dead', 'refresh: ANAF answered 400 invalid_grant');
    saveToken(vault, 'failing', 5, 300);
    vault.recordFailure('failing', 'ANAF_UNAVAILABLE: refresh: ANAF answered HTTP 503');
    saveToken(vault, 'refused', 5, 300);
    vault.recordFailure('refused', 'INVALID_CLIENT: refresh: ANAF answered 401 invalid_client');
    saveToken(vault, 'ending', 80, 10);
    saveToken(vault, 'expired', -1, 300);
    vault.close();
    const findings = await run(tokensCheck, { paths });
    const of = (name: string) => findings.find((f) => f.subject === name)!;
    expect(of('ok').status).toBe('ok');
    expect(of('none')).toMatchObject({ status: 'warn', message: 'no token yet' });
    expect(of('dead')).toMatchObject({ status: 'fail' });
    expect(
      of('dead')
        .causes!.map((c) => c.en)
        .join(' '),
    ).toContain('Another program refreshed with the same refresh token');
    expect(of('failing')).toMatchObject({ status: 'warn', message: expect.stringContaining('last refresh failed') });
    expect(of('failing').causes![0]!.en).toContain('proxy');
    // A retry cannot fix a refused client: the token stops working when the access token ends.
    expect(of('refused')).toMatchObject({ status: 'fail', message: expect.stringContaining('ANAF refuses to refresh the token (INVALID_CLIENT') });
    expect(of('refused').advice!.en).toContain('client secret');
    expect(of('ending')).toMatchObject({ status: 'warn', message: expect.stringContaining('refresh token ends') });
    expect(of('ending').advice!.ro).toContain('cheia USB');
    expect(of('expired')).toMatchObject({ status: 'warn', message: expect.stringContaining('access token expired') });
  });
});

describe('doctor: does ANAF accept the tokens (TestOauth hello)', () => {
  const answering =
    (status: number, body = ''): typeof fetch =>
    async () =>
      new Response(body, { status, headers: status === 401 ? { 'WWW-Authenticate': 'Bearer error="invalid_token"' } : {} });

  it('asks once for each live token: ok is ok, not-authorized fails, unavailable warns; none, expired and dead tokens are not asked about', async () => {
    const paths = tempPaths();
    const vault = vaultWith(
      paths,
      ['live', 'due', 'none', 'expired', 'dead'].map((name) => ({ name })),
    );
    saveToken(vault, 'live', 80, 300);
    saveToken(vault, 'due', 5, 300);
    saveToken(vault, 'expired', -1, 300);
    saveToken(vault, 'dead', 80, 300);
    vault.markDead('dead', 'refresh: ANAF answered 400 invalid_grant');
    vault.close();
    const asked: string[] = [];
    const recording =
      (status: number, body?: string): typeof fetch =>
      async (url, init) => {
        asked.push(`${url instanceof Request ? url.url : url.toString()} ${(init?.headers as Record<string, string>).authorization}`);
        return answering(status, body)(url, init);
      };

    const ok = await run(makeHelloCheck({ fetch: recording(200, 'Hello test') }), { paths });
    expect(ok.map((f) => [f.subject, f.status])).toEqual([
      ['due', 'ok'],
      ['live', 'ok'],
    ]);
    expect(asked).toEqual([
      `${anaf.url}/TestOauth/jaxrs/hello?name=test Bearer access-due-0123456789`,
      `${anaf.url}/TestOauth/jaxrs/hello?name=test Bearer access-live-0123456789`,
    ]);
    expect(JSON.stringify(ok)).not.toContain('access-live');

    const denied = await run(makeHelloCheck({ fetch: answering(401) }), { paths });
    expect(denied.map((f) => f.status)).toEqual(['fail', 'fail']);
    expect(denied[0]).toMatchObject({
      check: 'hello',
      subject: 'due',
      status: 'fail',
      message: 'ANAF does not accept the access token (ANAF answered 401 invalid_token)',
    });
    expect(denied[0]!.advice!.en).toContain('24 hours');
    expect(denied[0]!.advice!.ro).toContain('SPV');

    const waf = await run(
      makeHelloCheck({ fetch: answering(200, '<html><body>The requested URL was rejected. Please consult with your administrator.</body></html>') }),
      { paths },
    );
    expect(waf[0]).toMatchObject({ status: 'warn', message: expect.stringContaining('The requested URL was rejected') });
    const down = await run(makeHelloCheck({ fetch: answering(503) }), { paths });
    expect(down[0]).toMatchObject({ status: 'warn', message: 'ANAF gave no verdict on the access token (ANAF answered HTTP 503)' });
    expect(down[0]!.causes![0]!.en).toContain('proxy');
  });

  it('says nothing without a vault or without live tokens', async () => {
    expect(await run(makeHelloCheck({ fetch: answering(200) }), { paths: tempPaths() })).toEqual([]);
    const paths = tempPaths();
    vaultWith(paths, [{ name: 'none' }]).close();
    expect(await run(makeHelloCheck({ fetch: answering(200) }), { paths })).toEqual([]);
  });
});

describe('anaf-token doctor', () => {
  it('runs every check, exits 0 when nothing fails and 1 with the failures listed', async () => {
    const home = tempDir('home');
    const paths = tempPaths('dr-cli');
    const udd = tempDir('udd');
    install({ paths, targets: [targetForUserDataDir(udd)], extensionIds: [EXTENSION_ID], cliPath: CLI, platform: 'linux' });
    vaultWith(paths, [{ name: 'firma' }]).close();
    const cliEnv = { HOME: home, ANAF_TOKEN_HOME: paths.dataDir, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile, SOFTHSM2_CONF: token.conf };
    await authorizeForReal(cliEnv, 'firma');

    const good = await runCli(['doctor', '--json', '--user-data-dir', udd], cliEnv);
    expect(good.code, good.stdout).toBe(0);
    const report = JSON.parse(good.stdout) as { ok: boolean; findings: Finding[] };
    expect(report.ok).toBe(true);
    expect(new Set(report.findings.map((f) => f.check))).toEqual(new Set(DOCTOR_CHECKS.map((c) => c.id)));
    expect(report.findings.find((f) => f.check === 'hello')).toMatchObject({ subject: 'firma', status: 'ok', message: expect.stringContaining('HTTP 200') });

    // ANAF refusing the access token fails the run, with the advice to refresh or authorize again.
    anaf.advanceClock(91 * 86_400);
    try {
      const refused = await runCli(['doctor', '--user-data-dir', udd], cliEnv);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/FAIL  hello \[firma\]: ANAF does not accept the access token \(ANAF answered 401 invalid_token\)/);
      expect(refused.stdout).toContain('24 hours');
    } finally {
      anaf.advanceClock(-91 * 86_400);
    }

    const broken = Vault.open({ paths, env });
    broken.markDead('firma', 'the refresh token has expired');
    broken.close();
    const bad = await runCli(['doctor', '--user-data-dir', udd], cliEnv);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL  token \[firma\]: dead: the refresh token has expired/);
    expect(bad.stdout).toContain('Cauze posibile:');
    expect(bad.stderr).toContain('CHECKS_FAILED');
  });

  it('exits 0 with no USB key plugged in and a working token, saying the key is only needed to authorize again', async () => {
    const home = tempDir('home');
    const paths = tempPaths('dr-nokey');
    const udd = tempDir('udd');
    install({ paths, targets: [targetForUserDataDir(udd)], extensionIds: [EXTENSION_ID], cliPath: CLI, platform: 'linux' });
    vaultWith(paths, [{ name: 'firma' }]).close();
    const cliEnv = {
      HOME: home,
      ANAF_TOKEN_HOME: paths.dataDir,
      ANAF_TOKEN_KEYSTORE: 'file',
      NODE_EXTRA_CA_CERTS: pki.ca.certFile,
      SOFTHSM2_CONF: emptySoftHsm(),
    };
    await authorizeForReal(cliEnv, 'firma');

    const r = await runCli(['doctor', '--user-data-dir', udd], cliEnv);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^info  pkcs11: no USB key with a usable signature certificate is plugged in; the USB key is only needed to authorize again$/m);
    expect(r.stdout).toContain('refreshing and using the token do not need it');
    expect(r.stdout).toMatch(/^ok    hello \[firma\]: ANAF accepts the access token/m);
    expect(r.stdout).toMatch(/\d+ ok, [1-9]\d* info, \d+ warn, 0 fail/);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.stderr).not.toContain('CHECKS_FAILED');
    const j = JSON.parse((await runCli(['doctor', '--json', '--user-data-dir', udd], cliEnv)).stdout) as { ok: boolean; summary: Record<string, number> };
    expect(j.ok).toBe(true);
    expect(j.summary.fail).toBe(0);
    expect(j.summary.info).toBeGreaterThan(0);
  });

  it('reports a check that throws as a failure and runs the others', async () => {
    const ctx = doctorContext({ paths: tempPaths(), env });
    const boom: Check = { id: 'boom', run: async () => Promise.reject(new Error('kaput')) };
    const r = await runDoctor(ctx, [boom, vaultCheck]);
    await ctx.close();
    expect(r.summary).toEqual({ ok: 0, info: 0, warn: 1, fail: 1 });
    expect(renderReport(r)).toContain('FAIL  boom: the check itself failed: kaput');
  });
});

describe('pkcs11 check', () => {
  it('is ok with a token that holds a usable certificate, and warns about the expired one beside it', async () => {
    const findings = await withSoftHsm(token.conf, () => run(pkcs11Check, { paths: tempPaths() }));
    expect(findings.find((f) => f.subject?.startsWith('POPESCU ION'))?.status).toBe('ok');
    const expired = findings.find((f) => f.subject?.startsWith('EXPIRED POPESCU'));
    expect(expired?.status).toBe('warn');
    expect(expired?.advice?.ro).toContain('expirat');
    expect(findings.some((f) => f.status === 'fail')).toBe(false);
  });

  it('only informs when no token with a usable certificate is plugged in: the key is needed to authorize again, not to refresh', async () => {
    const paths = tempPaths();
    const vault = vaultWith(paths, [{ name: 'firma' }]);
    saveToken(vault, 'firma', 80, 300);
    vault.close();
    const findings = await withSoftHsm(emptySoftHsm(), () => run(pkcs11Check, { paths }));
    expect(findings.some((f) => f.status === 'fail')).toBe(false);
    const info = findings.find((f) => f.status === 'info');
    expect(info?.message).toBe('no USB key with a usable signature certificate is plugged in; the USB key is only needed to authorize again');
    expect(info?.advice?.en).toContain('plug in the USB token');
    expect(info?.advice?.ro).toContain('doar pentru o nouă autorizare');
  });

  it('warns instead while a profile needs a new authorization (no token, or a dead one)', async () => {
    const paths = tempPaths();
    const vault = vaultWith(paths, [{ name: 'firma' }, { name: 'nou' }]);
    saveToken(vault, 'firma', 80, 300);
    vault.close();
    const findings = await withSoftHsm(emptySoftHsm(), () => run(pkcs11Check, { paths }));
    const warn = findings.find((f) => f.status === 'warn' && !f.subject);
    expect(warn?.message).toContain('no USB key with a usable signature certificate is plugged in');
    expect(warn?.advice?.en).toContain('Profile "nou" needs an authorization with the USB key now');
    expect(findings.some((f) => f.status === 'fail')).toBe(false);
  });

  it('only informs when no PKCS#11 driver is installed', async () => {
    const noDriver = makePkcs11Check({
      scan: async () => {
        throw new AppError('PKCS11_MODULE_NOT_FOUND');
      },
    });
    const paths = tempPaths();
    const vault = vaultWith(paths, [{ name: 'firma' }]);
    saveToken(vault, 'firma', 80, 300);
    vault.close();
    expect(await run(noDriver, { paths })).toEqual([
      expect.objectContaining({ status: 'info', message: 'no PKCS#11 driver found in the known places; the USB key is only needed to authorize again' }),
    ]);
    const none = await run(noDriver, { paths: tempPaths() });
    expect(none[0]!.status).toBe('info');
    expect(none[0]!.advice!.en).toContain('install the USB token software');
  });

  it("never warns about the USB key while the browser's own store has a usable certificate (Windows: the minidriver's)", async () => {
    const paths = tempPaths();
    const vault = vaultWith(paths, [{ name: 'nou' }]); // needs a new authorization now: would be a warning
    vault.close();
    const inStore = async () => ['POPESCU ION'];
    const noDriver = makePkcs11Check({
      scan: async () => {
        throw new AppError('PKCS11_MODULE_NOT_FOUND');
      },
      inBrowserStore: inStore,
    });
    expect(await run(noDriver, { paths })).toEqual([
      expect.objectContaining({ status: 'info', message: expect.stringContaining('the browser will offer POPESCU ION from its own certificate store') }),
    ]);
    const emptyToken = makePkcs11Check({ scan: async () => [{ path: '/usr/lib/vendor.so', tokens: [] }], inBrowserStore: inStore });
    const findings = await run(emptyToken, { paths });
    expect(statuses(findings)).toEqual(['info']);
    // With nothing in the store either, the warning stays.
    const neither = makePkcs11Check({ scan: async () => [{ path: '/usr/lib/vendor.so', tokens: [] }], inBrowserStore: async () => [] });
    expect(statuses(await run(neither, { paths }))).toEqual(['warn']);
  });

  it('warns, not fails, about a locked PIN', async () => {
    const cert = {
      id: '01',
      label: 'sig',
      subject: 'CN=POPESCU ION',
      commonName: 'POPESCU ION',
      serialHex: '0A',
      issuer: 'CN=CA',
      notBefore: new Date(Date.now() - DAY).toISOString(),
      notAfter: new Date(Date.now() + 300 * DAY).toISOString(),
      sha256: 'ab',
      keyAlgorithm: 'RSA',
      keyUsage: ['digitalSignature', 'nonRepudiation'],
      extendedKeyUsage: [],
      qualified: { compliance: true, qscd: true, types: ['esign'] },
      privateKey: 'present' as const,
      signature: true,
    };
    const locked = makePkcs11Check({
      scan: async () => [
        {
          path: '/usr/lib/vendor.so',
          tokens: [
            { slotId: '0', slotDescription: 'slot', present: true, label: 'KEY', pin: { countLow: true, finalTry: false, locked: true }, certificates: [cert] },
          ],
        },
      ],
    });
    const findings = await run(locked, { paths: tempPaths() });
    expect(findings.find((f) => f.message === 'the PIN is locked')?.status).toBe('warn');
    expect(findings.some((f) => f.status === 'fail')).toBe(false);
  });
});
