/**
 * The service proves itself to an ERP that asks (cnonce="…" in its Authorization header): every
 * answer to a proven request carries AnafToken-Server-Proof, an HMAC with the client key over the
 * ERP's cnonce, the nonce, the Host, the status and the body. A program on the port in place of
 * `serve` (another OS user's squatter, or a plain listener here) cannot make one: its made-up
 * token fails the ERP's check, and so does a genuine answer it recorded and plays back to a new
 * request. The ERP-side check is the test client's own (test/helpers/serve-process.ts), written
 * from docs/erp-api.md.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorResponseSchema, profilesResponseSchema, tokenResponseSchema } from '../../native-host/src/serve/api.js';
import { resolvePaths } from '../../native-host/src/config/paths.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { runCli } from '../helpers/cli.js';
import { otherUser, squat, whyNoOtherUser } from '../helpers/other-user.js';
import {
  challenge,
  checkServerProof,
  erp,
  ErpClient,
  newCnonce,
  startServeProcess,
  type ClientCredential,
  type ErpAnswer,
  type ServeProcess,
} from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp.js';

const DAY = 86_400_000;
const ACCESS = 'access-token-of-firma-3c9e51';

let home: string;
let env: NodeJS.ProcessEnv;
let cred: ClientCredential;
const running: ServeProcess[] = [];

async function serve(args: string[] = []): Promise<ServeProcess> {
  const s = await startServeProcess(['--check-interval', '0', ...args], env);
  running.push(s);
  return s;
}

/** A plain listener on the port (in this process): what a squatter does, answering as it likes. */
async function listener(port: number, answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<http.Server> {
  const s = http.createServer((req, res) => {
    if (req.url === '/v1/challenge') {
      // It hands out a nonce of its own: the ERP cannot tell it from one of serve's.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ nonce: 'c3F1YXR0ZXItbm9uY2Utc3F1YXR0ZXItbm9uY2Utc3F', expiresAt: new Date(Date.now() + 600_000).toISOString() }));
      return;
    }
    answer(req, res);
  });
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
  return s;
}

/**
 * The documented curl + openssl check, as docs/erp-api.md prints it: the curl example's lines up
 * to the proof (with this test's port), then the block marked "server-proof: curl".
 */
function docsCurlCheck(port: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const doc = fs.readFileSync(path.join(import.meta.dirname, '../../docs/erp-api.md'), 'utf8');
  const fenced = (from: number) => {
    const start = doc.indexOf('```sh\n', from) + '```sh\n'.length;
    return doc.slice(start, doc.indexOf('```', start));
  };
  const example = fenced(doc.indexOf('### curl (with openssl)'));
  const prove = example.slice(0, example.indexOf('AUTH=')).replace(/^HOSTPORT=.*$/m, `HOSTPORT=127.0.0.1:${port}`);
  const check = fenced(doc.indexOf('<!-- server-proof: curl'));
  // Not spawnSync: the listener playing the squatter answers from this process's event loop.
  const child = spawn('bash', ['-euo', 'pipefail', '-c', prove + check], {
    cwd: tempDir('docs-curl'),
    env: { PATH: process.env.PATH, ANAF_TOKEN_CLIENT: cred.name, ANAF_TOKEN_KEY: cred.key, NO_PROXY: '*', no_proxy: '*' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const closeServer = (s: http.Server) => new Promise<void>((resolve) => s.close(() => resolve()));
const headerOf = (a: ErpAnswer) => a.headers['anaftoken-server-proof'];

beforeAll(async () => {
  home = tempDir('serve-mutual');
  env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file' };
  // A profile with a token far from its refresh window: serve hands it out without asking ANAF.
  const vault = Vault.open({ paths: resolvePaths(home), env });
  try {
    vault.saveProfile(
      { name: 'firma', clientId: 'cid', redirectUri: 'https://erp.example.ro/cb', env: 'test', refreshWindowDays: 14, clientSecret: 'secret-of-firma' },
      'create',
    );
    vault.saveTokens(
      'firma',
      { accessToken: ACCESS, refreshToken: 'refresh-of-firma', accessExpiresAt: Date.now() + 80 * DAY, refreshExpiresAt: Date.now() + 300 * DAY },
      { kind: 'authorization', certificate: {}, stateEchoed: true },
    );
  } finally {
    vault.close();
  }
  const r = await runCli(['clients', 'add', 'erp', '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  cred = { name: 'erp', key: (JSON.parse(r.stdout) as { key: string }).key };
});

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

afterAll(() => {
  const log = fs.readFileSync(path.join(home, 'logs', 'anaf-token.log'), 'utf8');
  expect(log).not.toContain(cred.key);
});

describe('the service proves its answers to an ERP that asks', () => {
  it('vouches for the token, the list and an error, each over its own cnonce; without a cnonce, answers as before', async () => {
    const s = await serve();
    const token = await erp(s.port, '/v1/profiles/firma/token', { as: cred, cnonce: true });
    expect(token.status).toBe(200);
    expect(tokenResponseSchema.parse(token.json).accessToken).toBe(ACCESS);
    expect(token.serverProof).toBe('valid');

    const list = await erp(s.port, '/v1/profiles', { as: cred, cnonce: true });
    expect(list.status).toBe(200);
    expect(profilesResponseSchema.parse(list.json).profiles.map((p) => p.profile.name)).toEqual(['firma']);
    expect(list.serverProof).toBe('valid');

    const missing = await erp(s.port, '/v1/profiles/nobody/token', { as: cred, cnonce: true });
    expect(missing.status).toBe(404);
    expect(errorResponseSchema.parse(missing.json).error.code).toBe('PROFILE_NOT_FOUND');
    expect(missing.serverProof).toBe('valid');

    // An ERP that keeps one nonce and a kept connection, a fresh cnonce each time.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const client = new ErpClient(s.port, cred, { agent, mutual: true });
      for (let i = 0; i < 5; i++) {
        const a = await client.get('/v1/profiles/firma/token');
        expect([a.status, a.serverProof]).toEqual([200, 'valid']);
      }
      expect(client.challenges).toBe(1);
    } finally {
      agent.destroy();
    }

    // No cnonce: no proof header, the same body as always.
    const plain = await erp(s.port, '/v1/profiles/firma/token', { as: cred });
    expect(plain.status).toBe(200);
    expect(headerOf(plain)).toBeUndefined();
    expect(plain.serverProof).toBeUndefined();
    expect(plain.body).toBe(token.body);

    // An ill-formed cnonce is an ill-formed header (401, as any), and unproven answers carry no proof.
    const short = await erp(s.port, '/v1/profiles/firma/token', { as: cred, cnonce: 'too-short' });
    expect(short.status).toBe(401);
    expect(errorResponseSchema.parse(short.json).error.code).toBe('API_KEY_INVALID');
    expect(headerOf(short)).toBeUndefined();
    const wrongKey = await erp(s.port, '/v1/profiles/firma/token', { as: { name: 'erp', key: `atk_${'B'.repeat(43)}` }, cnonce: true });
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.serverProof).toBe('missing');
  });

  it('a genuine answer played back by a listener on the port fails for a new cnonce; a made-up token fails too', async () => {
    const s = await serve();
    const port = s.port;
    const cnonce = newCnonce();
    const nonce = await challenge(port);
    const genuine = await erp(port, '/v1/profiles/firma/token', { as: cred, nonce, cnonce });
    expect(genuine.serverProof).toBe('valid');
    await running.pop()!.stop();

    // serve is down; a program takes its port and plays the recorded answer back, proof and all.
    const replay = await listener(port, (_req, res) => {
      res.writeHead(genuine.status, { 'Content-Type': 'application/json; charset=utf-8', 'AnafToken-Server-Proof': String(headerOf(genuine)) });
      res.end(genuine.body);
    });
    try {
      const a = await erp(port, '/v1/profiles/firma/token', { as: cred, cnonce: true });
      expect(a.status).toBe(200);
      expect(a.body).toBe(genuine.body);
      expect(a.serverProof).toBe('wrong');
      // The same bytes pass only for the cnonce (and status) they were made for.
      const recorded = { status: 200, header: headerOf(genuine), body: Buffer.from(genuine.body) };
      const sent = { cnonce, nonce, host: `127.0.0.1:${port}` };
      expect(checkServerProof(cred.key, sent, recorded)).toBe('valid');
      expect(checkServerProof(cred.key, { ...sent, cnonce: newCnonce() }, recorded)).toBe('wrong');
      expect(checkServerProof(cred.key, sent, { ...recorded, status: 503 })).toBe('wrong');
      expect(checkServerProof(cred.key, sent, { ...recorded, body: Buffer.from(genuine.body.replace(ACCESS, 'made-up-token-of-firma')) })).toBe('wrong');
    } finally {
      await closeServer(replay);
    }

    // A made-up token, with a proof header of its own invention or none at all.
    for (const proofHeader of [undefined, 'A'.repeat(43)]) {
      const fake = await listener(port, (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', ...(proofHeader ? { 'AnafToken-Server-Proof': proofHeader } : {}) });
        res.end(JSON.stringify({ profile: 'firma', accessToken: 'made-up', expiresAt: new Date(Date.now() + DAY).toISOString(), tokenType: 'Bearer' }));
      });
      try {
        const a = await erp(port, '/v1/profiles/firma/token', { as: cred, cnonce: true });
        expect(tokenResponseSchema.parse(a.json).accessToken).toBe('made-up');
        expect(a.serverProof).toBe(proofHeader ? 'wrong' : 'missing');
      } finally {
        await closeServer(fake);
      }
    }
  });

  it("the documentation's curl + openssl lines accept serve's answer and refuse a listener's made-up token", async () => {
    const s = await serve();
    const port = s.port;
    const ok = await docsCurlCheck(port);
    expect(ok.code, ok.stderr).toBe(0);
    expect(tokenResponseSchema.parse(JSON.parse(ok.stdout)).accessToken).toBe(ACCESS);
    await running.pop()!.stop();
    const fake = await listener(port, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'AnafToken-Server-Proof': 'A'.repeat(43) });
      res.end(JSON.stringify({ profile: 'firma', accessToken: 'made-up', expiresAt: new Date(Date.now() + DAY).toISOString(), tokenType: 'Bearer' }));
    });
    try {
      const refused = await docsCurlCheck(port);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain('not anaf-token serve');
    } finally {
      await closeServer(fake);
    }
  });

  it.skipIf(!otherUser())(`another OS user's squatter on the port: its made-up token fails the ERP's check ${whyNoOtherUser()}`, async () => {
    const s = await serve();
    const port = s.port;
    await running.pop()!.stop();
    const sq = await squat(otherUser()!, port, ['127.0.0.1', '::1']);
    try {
      const client = new ErpClient(port, cred, { mutual: true });
      const a = await client.get('/v1/profiles/firma/token');
      expect(a.status).toBe(200);
      expect(tokenResponseSchema.parse(a.json).accessToken).toBe('squatted');
      expect(a.serverProof).toBe('missing');
    } finally {
      await sq.stop();
    }
    // serve back on its port: the same client's next answer passes again.
    const back = await serve(['--port', String(port)]);
    const a = await new ErpClient(back.port, cred, { mutual: true }).get('/v1/profiles/firma/token');
    expect([a.status, a.serverProof]).toEqual([200, 'valid']);
  });
});
