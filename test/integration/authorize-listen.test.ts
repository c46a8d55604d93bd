/**
 * `authorize --listen`: the CLI waits on loopback (HTTPS, its own certificate) for the browser's
 * redirect and finishes by itself. curl plays the browser: it logs in at the mTLS stand-in with
 * the client certificate, then follows ANAF's redirect to the CLI's listener.
 */
import { X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../pki/make-pki.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { runCli, spawnCli, transcript, type RunningCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { scanForSecrets } from '../helpers/secret-scan.js';

const execFileP = promisify(execFile);
const CURL = '/usr/bin/curl';
const CLIENT_ID = 'listen-test-client';
const CLIENT_SECRET = `listen-secret-${Math.random().toString(36).slice(2)}`;

let pki: Pki;
let anaf: AnafStandin;
let port: number;
let redirect: string;
let env: NodeJS.ProcessEnv;
let home: string;
const homes: string[] = [];
/** CLIs still waiting when a test ends (it failed): stopped, so the next test has the port. */
const running = new Set<RunningCli>();

/** A port free on 127.0.0.1 and ::1 right now. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const p = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return p;
}

async function cli(args: string[], input?: string) {
  return runCli(args, env, input);
}

async function addProfile(name = 'p', redirectUri = redirect) {
  const r = await cli(['profile', 'add', '--name', name, '--client-id', CLIENT_ID, '--redirect-uri', redirectUri, '--env', anaf.url], `${CLIENT_SECRET}\n`);
  expect(r.code, r.stderr).toBe(0);
}

interface ListenStart {
  authorizeUrl: string;
  redirectUri: string;
  expiresAt: string;
  listen: { port: number; addresses: string[]; until: string; certificateSha256: string; certificateFile: string };
}

/** Starts `authorize --listen` and reads its first line (the JSON start object). */
async function listen(extra: string[] = []): Promise<{ run: RunningCli; start: ListenStart }> {
  const run = spawnCli(['authorize', '--profile', 'p', '--listen', '--no-open', '--json', ...extra], env);
  running.add(run);
  void run.done.then(() => running.delete(run));
  const start = JSON.parse(await run.nextLine()) as ListenStart;
  return { run, start };
}

/** The browser's login at the stand-in with the client certificate: returns where ANAF redirects. */
async function login(authorizeUrl: string): Promise<string> {
  const { stdout } = await execFileP(CURL, [
    '-sS',
    '--cacert',
    pki.ca.certFile,
    '--cert',
    pki.client.certFile,
    '--key',
    pki.client.keyFile,
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{redirect_url}',
    authorizeUrl,
  ]);
  const [status, location] = stdout.split(' ');
  expect(status).toBe('302');
  return location!;
}

/** The browser following a URL on the listener, trusting the listener's own certificate. */
async function visit(url: string, certFile: string, extra: string[] = []): Promise<{ status: number; body: string }> {
  const { stdout } = await execFileP(CURL, ['-sS', '--cacert', certFile, ...extra, '-w', '\n%{http_code}', url]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/** The final JSON document the CLI printed after its first line. */
function finalJson<T = Record<string, any>>(stdout: string): T {
  return JSON.parse(stdout.slice(stdout.indexOf('\n') + 1)) as T;
}

/** The browser brings an answer whose state is wrong or missing: the page says STATE_MISMATCH, and so does the CLI (exit 6). */
async function expectStateRefused(run: RunningCli, start: ListenStart, url: string): Promise<void> {
  const page = await visit(url, start.listen.certificateFile);
  expect(page.status).toBe(400);
  expect(page.body).toContain('STATE_MISMATCH');
  const done = await run.done;
  expect(done.code).toBe(6);
  expect(finalJson<{ error: { code: string } }>(done.stdout).error.code).toBe('STATE_MISMATCH');
}

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  port = await freePort();
  redirect = `https://localhost:${port}/anaf/callback`;
  anaf = await startAnafStandin({
    pki,
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [redirect, 'https://erp.example.ro/anaf/callback'] }],
  });
});

afterEach(async () => {
  for (const run of running) {
    run.kill();
    await run.done;
  }
});

beforeEach(() => {
  home = tempDir('home');
  homes.push(home);
  env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile };
  anaf.resetCounters();
});

afterAll(async () => {
  const logs = homes.flatMap((h) => {
    const f = path.join(h, 'logs', 'anaf-token.log');
    return fs.existsSync(f) ? [fs.readFileSync(f, 'utf8')] : [];
  });
  const hits = scanForSecrets([...transcript, ...logs], [CLIENT_SECRET, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens, ...anaf.issued.codes]);
  await anaf.close();
  expect(logs.length).toBeGreaterThan(3);
  expect(hits).toEqual([]);
});

describe('anaf-token authorize --listen', () => {
  it('waits for the redirect on localhost over HTTPS and finishes by itself', async () => {
    await addProfile();
    const { run, start } = await listen();
    expect(Object.keys(start)[0]).toBe('authorizeUrl');
    expect(start.listen.port).toBe(port);
    expect(start.listen.addresses).toContain('127.0.0.1');
    // The certificate is kept in the data folder, private, and its printed fingerprint is its own.
    const certFile = start.listen.certificateFile;
    expect(path.dirname(path.dirname(certFile))).toBe(home);
    for (const f of fs.readdirSync(path.dirname(certFile))) expect(fs.statSync(path.join(path.dirname(certFile), f)).mode & 0o777).toBe(0o600);
    const x = new X509Certificate(fs.readFileSync(certFile));
    expect(x.fingerprint256).toBe(start.listen.certificateSha256);
    expect(x.checkHost('localhost') && x.checkIP('127.0.0.1') && x.checkIP('::1')).toBeTruthy();
    const location = await login(start.authorizeUrl);
    expect(location.startsWith(`${redirect}?`)).toBe(true);
    const page = await visit(location, certFile);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Puteți închide această filă');
    expect(page.body).toContain('You may close this tab');

    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    expect(finalJson(done.stdout)).toMatchObject({ state: 'valid', stateEchoed: true });
    expect(done.stderr).toContain(start.listen.certificateSha256);
    expect(done.stderr).toContain('60 de secunde');
    expect(done.stderr).toContain('60 seconds');
    const list = await cli(['list', '--json']);
    expect((JSON.parse(list.stdout) as { state: string }[])[0]!.state).toBe('valid');
    expect(anaf.counters.grants.authorization_code).toBe(1);
    // The listener is gone once it had its answer.
    await expect(visit(location, certFile)).rejects.toThrow();
    // Neither the code nor a token in what the CLI printed or logged (also scanned for all runs in afterAll).
    const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
    const code = new URL(location).searchParams.get('code')!;
    expect(scanForSecrets([done.stdout, done.stderr, log], [code, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens])).toEqual([]);
    expect(log).not.toContain(new URL(location).searchParams.get('state')!);
  });

  it('keeps its certificate for the next run, and replaces one that is expired or not its own', async () => {
    await addProfile();
    const first = await listen(['--timeout', '1s']);
    expect((await first.run.done).code).toBe(5);
    const second = await listen(['--timeout', '1s']);
    expect(second.start.listen.certificateSha256).toBe(first.start.listen.certificateSha256);
    expect((await second.run.done).code).toBe(5);
    // An expired certificate for other names where the kept one was: a new one is made.
    const { certificateFile } = second.start.listen;
    fs.copyFileSync(pki.expiredClient.certFile, certificateFile);
    fs.copyFileSync(pki.expiredClient.keyFile, path.join(path.dirname(certificateFile), 'localhost-key.pem'));
    const third = await listen(['--timeout', '1s']);
    expect(third.start.listen.certificateSha256).not.toBe(first.start.listen.certificateSha256);
    expect(new X509Certificate(fs.readFileSync(certificateFile)).fingerprint256).toBe(third.start.listen.certificateSha256);
    const r = await third.run.done;
    expect(r.code).toBe(5);
    expect(finalJson<{ error: { code: string } }>(r.stdout).error.code).toBe('CALLBACK_TIMEOUT');
  });

  it('answers other paths with 404 and other methods with 405, and keeps waiting', async () => {
    await addProfile();
    const { run, start } = await listen();
    const certFile = start.listen.certificateFile;
    expect((await visit(`https://localhost:${port}/`, certFile)).status).toBe(404);
    expect((await visit(`https://127.0.0.1:${port}/other/callback?code=x&state=y`, certFile)).status).toBe(404);
    expect((await visit(`https://localhost:${port}/anaf/callback?code=x`, certFile, ['-X', 'POST'])).status).toBe(405);
    // The callback path without an answer from ANAF does not use up the authorization.
    expect((await visit(`https://localhost:${port}/anaf/callback`, certFile)).status).toBe(400);
    const location = await login(start.authorizeUrl);
    expect((await visit(location, certFile)).status).toBe(200);
    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    expect(anaf.counters.grants.authorization_code).toBe(1);
  });

  it('refuses a tampered state before anything reaches ANAF', async () => {
    await addProfile();
    const { run, start } = await listen();
    const url = new URL(await login(start.authorizeUrl));
    url.searchParams.set(
      'state',
      url.searchParams.get('state')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    );
    await expectStateRefused(run, start, url.toString());
    expect(anaf.counters.requests.token).toBe(0);
    expect((JSON.parse((await cli(['list', '--json'])).stdout) as { state: string }[])[0]!.state).toBe('none');
  });

  it('refuses an answer without state (a page could send the browser here with its own code)', async () => {
    await addProfile();
    anaf.setOptions({ omitState: true });
    try {
      const { run, start } = await listen();
      const url = await login(start.authorizeUrl);
      expect(new URL(url).searchParams.has('state')).toBe(false);
      await expectStateRefused(run, start, url);
      expect(anaf.counters.requests.token).toBe(0);
    } finally {
      anaf.setOptions({ omitState: false });
    }
  });

  it('needs a callback URL on localhost, and says what to register', async () => {
    await addProfile('p', 'https://erp.example.ro/anaf/callback');
    const r = await cli(['authorize', '--profile', 'p', '--listen', '--no-open']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CALLBACK_INVALID');
    expect(r.stderr).toContain('https://localhost:8443/anaf/callback');
    expect(r.stderr).toContain("ANAF's portal");
    expect(r.stdout).toBe(''); // no authorize URL: the login would lead nowhere
  });

  it('says so when the port is taken', async () => {
    await addProfile();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const r = await cli(['authorize', '--profile', 'p', '--listen', '--no-open']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('CALLBACK_LISTEN_FAILED');
      expect(r.stdout).toBe('');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('refuses a callback URL on the command line: it must come on standard input', async () => {
    await addProfile();
    for (const args of [['--callback-url', `${redirect}?code=abc&state=def`], [`--callback-url=${redirect}?code=abc&state=def`]]) {
      const r = await cli(['authorize', '--profile', 'p', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('BAD_REQUEST');
      expect(r.stderr).toContain('standard input');
    }
    expect((await cli(['authorize', '--profile', 'p', '--code', 'abc'])).code).toBe(2); // --code is gone
    expect(anaf.counters.requests.token).toBe(0);
  });
});
