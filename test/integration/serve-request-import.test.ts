/**
 * `POST /v1/requests/import` against a real `anaf-token serve` process: an ERP imports the
 * certificate holder's answer to a request link itself (docs/erp-api.md). The requests are made
 * with the real CLI; the holder's part is the shared code the extension runs.
 */
import { once } from 'node:events';
import net from 'node:net';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequestLink, openSecret, sealAnswer } from '#shared/request/crypto.js';
import { joinAnswer, splitAnswer } from '#shared/request/format.js';
import { auditResponseSchema, errorResponseSchema } from '../../native-host/src/serve/api.js';
import { authorizationFor } from '../../native-host/src/serve/client-keys.js';
import { requestImportResponseSchema } from '../../native-host/src/serve/request-import.js';
import { runCli } from '../helpers/cli.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { challenge, defaultHost, erp, startServeProcess, type ClientCredential, type ServeProcess } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp.js';

const SECRET = `import-secret-${Math.random().toString(36).slice(2)}`;
const SERIAL = '5e:6f:70:81';
let home: string;
let out: string;
let env: NodeJS.ProcessEnv;
let serve: ServeProcess;
let all: ClientCredential;
let scoped: ClientCredential;
const issued: string[] = [];
const keys: string[] = [];

const cli = (args: string[], input?: string) => runCli(args, env, input);

async function newKey(name: string, ...flags: string[]): Promise<ClientCredential> {
  const r = await cli(['clients', 'add', name, '--json', ...flags]);
  expect(r.code, r.stderr).toBe(0);
  const key = (JSON.parse(r.stdout) as { key: string }).key;
  keys.push(key);
  return { name, key };
}

async function createRequest(profile: string): Promise<{ id: string; link: string }> {
  const r = await cli(['request', 'create', '--profile', profile, '--valid', '1h', '--json', '--out', path.join(out, `${profile}-${Date.now()}.txt`)]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { id: string; link: string };
}

async function jwt(claims: Record<string, unknown>, exp: number): Promise<string> {
  const t = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode('k'.repeat(32)));
  issued.push(t);
  return t;
}

/** The holder answers, as the extension's request page does. */
async function answerTo(link: string): Promise<{ answer: string; access: string }> {
  const now = Date.now();
  const req = await checkRequestLink(link, now);
  expect(await openSecret(req)).toBe(SECRET);
  const sec = Math.floor(now / 1000);
  const access = await jwt({ serial: SERIAL, issuer: 'Import Test CA' }, sec + 90 * 86_400);
  const refresh = await jwt({ serial: SERIAL }, sec + 365 * 86_400);
  return {
    answer: await sealAnswer(req.body, req.body.st, { access_token: access, refresh_token: refresh, expires_in: 7_776_000, token_type: 'Bearer' }, now),
    access,
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: unknown;
}

/** An ERP's POST with a body, proven with its client key (docs/erp-api.md). */
async function post(body: string | Buffer, o: { as?: ClientCredential; type?: string; length?: boolean } = {}): Promise<Answer> {
  const host = defaultHost(serve.port);
  const headers: Record<string, string> = { host, 'content-type': o.type ?? 'text/plain; charset=utf-8' };
  if (o.as) headers.authorization = authorizationFor(o.as.name, o.as.key, await challenge(serve.port), host);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: serve.port, path: '/v1/requests/import', method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    if (o.length === false) req.setHeader('transfer-encoding', 'chunked');
    req.end(body);
  });
}

const codeOf = (a: Answer) => errorResponseSchema.parse(a.json).error.code;

async function statusOf(id: string): Promise<string | undefined> {
  const listed = JSON.parse((await cli(['request', 'list', '--json'])).stdout) as { id: string; status: string }[];
  return listed.find((r) => r.id === id)?.status;
}

beforeAll(async () => {
  home = tempDir('serve-import');
  out = tempDir('serve-import-out');
  env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file' };
  for (const name of ['firma', 'alta']) {
    const r = await cli(
      ['profile', 'add', '--name', name, '--client-id', `cid-${name}`, '--redirect-uri', 'https://erp.example.ro/cb', '--env', 'https://127.0.0.1:9'],
      `${SECRET}\n`,
    );
    expect(r.code, r.stderr).toBe(0);
  }
  all = await newKey('erp');
  scoped = await newKey('erp-alta', '--profiles', 'alta');
  serve = await startServeProcess(['--check-interval', '0'], env);
});

afterAll(async () => {
  await serve?.stop();
  const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
  expect(log).toContain('serve.request-imported');
  expect(scanForSecrets([log, serve.output().stdout, serve.output().stderr], [SECRET, ...issued, ...keys])).toEqual([]);
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
});

describe('POST /v1/requests/import', () => {
  it("imports the answer (text/plain, mail text around it): 200 { profile, requestId, generation, certificateSerial }; `token` is the holder's; a replay is 409 REQUEST_USED", async () => {
    const made = await createRequest('firma');
    const { answer, access } = await answerTo(made.link);
    const a = await post(`Bună ziua,\n\niată răspunsul:\n\n${answer}\n\nO zi bună,\nIon\n`, { as: all });
    expect(a.status, JSON.stringify(a.json)).toBe(200);
    expect(requestImportResponseSchema.parse(a.json)).toEqual({ profile: 'firma', requestId: made.id, generation: 1, certificateSerial: '5E6F7081' });
    expect(a.headers['cache-control']).toBe('no-store');
    const token = await cli(['token', '--profile', 'firma']);
    expect(token.stdout.trim()).toBe(access);
    expect(await statusOf(made.id)).toBe('used');

    const replay = await post(answer, { as: all });
    expect(replay.status).toBe(409);
    expect(codeOf(replay)).toBe('REQUEST_USED');
  });

  it("a key scoped to other profiles is refused (403) before anything is imported, and the refusal is audited; its own profile's answer (JSON body) imports", async () => {
    const made = await createRequest('firma');
    const { answer } = await answerTo(made.link);
    const refused = await post(answer, { as: scoped });
    expect(refused.status).toBe(403);
    expect(codeOf(refused)).toBe('API_PROFILE_NOT_ALLOWED');
    expect(await statusOf(made.id)).toBe('pending');
    // The request is still open: the key that may imports it.
    expect((await post(JSON.stringify({ answer }), { as: all, type: 'application/json' })).status).toBe(200);

    const own = await createRequest('alta');
    const ownAnswer = await answerTo(own.link);
    const ok = await post(JSON.stringify({ answer: ownAnswer.answer }), { as: scoped, type: 'application/json' });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(requestImportResponseSchema.parse(ok.json)).toMatchObject({ profile: 'alta', requestId: own.id });

    // The audit table is written in the background.
    let rows: { client: string; action: string }[] = [];
    for (let i = 0; i < 50 && !rows.some((r) => r.client === 'erp-alta' && r.action === 'refused'); i++) {
      await sleep(100);
      const a = await erp(serve.port, '/v1/audit?profile=firma', { as: all });
      rows = auditResponseSchema.parse(a.json).entries;
    }
    expect(rows).toContainEqual(expect.objectContaining({ client: 'erp-alta', profile: 'firma', action: 'refused' }));
  });

  it('refusals: tampered 400, foreign 404, cancelled 410, too large 413, wrong type 415, bad JSON 400, no key 401, GET 405', async () => {
    const made = await createRequest('firma');
    const { answer } = await answerTo(made.link);
    const p = splitAnswer(answer);
    const ct = p.ct.slice(0, 30) + (p.ct[30] === 'A' ? 'B' : 'A') + p.ct.slice(31);
    const tampered = await post(joinAnswer({ ...p, ct }), { as: all });
    expect([tampered.status, codeOf(tampered)]).toEqual([400, 'REQUEST_TAMPERED']);
    const notAnswer = await post('hello', { as: all });
    expect([notAnswer.status, codeOf(notAnswer)]).toEqual([400, 'REQUEST_TAMPERED']);

    const foreign = await post(joinAnswer({ ...p, id: 'Q'.repeat(22) }), { as: all });
    expect([foreign.status, codeOf(foreign)]).toEqual([404, 'REQUEST_FOREIGN']);

    expect((await cli(['request', 'cancel', made.id])).code).toBe(0);
    const cancelled = await post(answer, { as: all });
    expect([cancelled.status, codeOf(cancelled)]).toEqual([410, 'REQUEST_CANCELLED']);

    const big = await post(`${answer}\n${'x'.repeat(64 * 1024)}`, { as: all });
    expect([big.status, codeOf(big)]).toEqual([413, 'REQUEST_TAMPERED']);
    const bigChunked = await post(Buffer.alloc(200 * 1024, 'y'), { as: all, length: false });
    expect(bigChunked.status).toBe(413);

    const form = await post(answer, { as: all, type: 'multipart/form-data; boundary=x' });
    expect(form.status).toBe(415);
    const badJson = await post('{"answer": ', { as: all, type: 'application/json' });
    expect([badJson.status, codeOf(badJson)]).toEqual([400, 'BAD_REQUEST']);
    const noKey = await post(answer);
    expect([noKey.status, codeOf(noKey)]).toEqual([401, 'API_KEY_INVALID']);
    // Without a key, a body that is never sent to its end: 401 at once, and the connection is closed
    // rather than kept alive by taking in the rest (10 MB announced, 1 KB sent).
    const sock = net.connect(serve.port, '127.0.0.1');
    await once(sock, 'connect');
    let raw = '';
    sock.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    sock.write(
      `POST /v1/requests/import HTTP/1.1\r\nHost: ${defaultHost(serve.port)}\r\nContent-Type: text/plain\r\nContent-Length: 10000000\r\n\r\n${'x'.repeat(1024)}`,
    );
    await Promise.race([once(sock, 'end'), once(sock, 'close'), new Promise((_, reject) => setTimeout(() => reject(new Error('still open')), 5_000))]);
    sock.destroy();
    expect(raw).toMatch(/^HTTP\/1\.1 401 /);
    expect(raw.toLowerCase()).toContain('connection: close');
    const get = await erp(serve.port, '/v1/requests/import', { as: all });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    // The service still answers after all that.
    expect((await erp(serve.port, '/healthz')).status).toBe(200);
  });
});
