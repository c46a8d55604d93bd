/**
 * The demo: the whole flow against the built-in ANAF stand-in, through the real CLI.
 * A client certificate made for the demo plays the USB token; the browser's part (TLS login
 * to the authorize page, following the redirect to `authorize --listen`) is done with node:https.
 */

import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { CLI_ENTRY } from '../native-host/src/config/entry.js';
import { makePki } from '../test/pki/make-pki.js';
import { startAnafStandin } from '../test/anaf-standin/server.js';
import { openAuthorize } from '../test/helpers/browser.js';
import { spawnCli } from '../test/helpers/cli.js';

const root = path.resolve(import.meta.dirname, '..');
const work = path.join(root, '.artifacts', 'demo');
const home = path.join(work, 'home');
fs.rmSync(home, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });

const CLIENT_ID = 'demo-client-id';
const CLIENT_SECRET = 'demo-client-secret';
/** A free loopback port for the callback (registered as https://localhost:PORT/... at ANAF). */
const port = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});
const REDIRECT = `https://localhost:${port}/anaf/callback`;

const pki = await makePki(path.join(work, 'pki'));
const anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }] });
const env = { ...process.env, ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile };

function step(title: string): void {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`);
}

/** Runs the CLI asynchronously-safe: the stand-in lives in this process, so use a child with its own loop. */
async function cli(args: string[], input?: string): Promise<string> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`anaf-token ${args[0]} exited ${code}: ${err}${out}`))));
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e); // a command that needs no input may exit before reading it
    });
    child.stdin.end(input ?? '');
  });
}

try {
  step(`ANAF stand-in (mTLS) at ${anaf.url}`);
  process.stdout.write(`certificate playing the USB token: ${pki.client.subject}\n`);

  step('anaf-token profile add --name demo … (secret on stdin)');
  process.stdout.write(
    await cli(['profile', 'add', '--name', 'demo', '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT, '--env', anaf.url], `${CLIENT_SECRET}\n`),
  );

  step('anaf-token authorize --profile demo --listen --no-open (waits on https://localhost for the browser)');
  const listening = spawnCli(['authorize', '--profile', 'demo', '--listen', '--no-open'], env);
  const authorizeUrl = await listening.nextLine();
  process.stdout.write(`${authorizeUrl.replace(/state=[^&]+/, 'state=…')}\n`);

  step('browser: TLS login with the client certificate → redirect to the listener');
  const t0 = performance.now();
  const res = await openAuthorize(authorizeUrl, pki.ca.certPem, pki.client);
  if (res.status !== 302 || !res.location) throw new Error(`the stand-in answered ${res.status}`);
  process.stdout.write(`302 → ${new URL(res.location).origin}${new URL(res.location).pathname}?code=…&state=…\n`);
  // The listener's certificate, kept in the data folder: what a user trusts once in the browser.
  const listenerCa = fs.readFileSync(path.join(home, 'callback-tls', 'localhost-cert.pem'), 'utf8');
  const page = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    https
      .get(res.location!, { ca: listenerCa, agent: false }, (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
  process.stdout.write(`listener → ${page.status}: ${/lang="en">([^<]*)</.exec(page.body)?.[1] ?? ''}\n`);
  const done = await listening.done;
  if (done.code !== 0) throw new Error(`anaf-token authorize --listen exited ${done.code}: ${done.stderr}`);
  process.stdout.write(`\n${done.stderr}\n${done.stdout.slice(done.stdout.indexOf('\n') + 1)}`);
  process.stdout.write(`(login → token stored in ${Math.round(performance.now() - t0)} ms)\n`);

  step('anaf-token refresh --profile demo (no USB key needed)');
  process.stdout.write(await cli(['refresh', '--profile', 'demo']));

  step('anaf-token token --profile demo --json (what an ERP reads; the token is shortened here)');
  const tok = JSON.parse(await cli(['token', '--profile', 'demo', '--json'])) as { accessToken: string; expiresAt: string };
  process.stdout.write(`accessToken: ${tok.accessToken.slice(0, 12)}… (${tok.accessToken.length} chars), expiresAt: ${tok.expiresAt}\n`);

  step('anaf-token list — token status table');
  process.stdout.write(await cli(['list']));
  process.stdout.write(`\nstand-in requests: ${JSON.stringify(anaf.counters.requests)}\nvault: ${home}\n`);
} finally {
  await anaf.close();
}
