/**
 * Abuse of the local token service and the native host: no or wrong key, Bearer, a foreign Host,
 * browser headers, oversized bodies, path tricks, a flood of wrong proofs, another OS user on the
 * port or calling it (a terminal server), a wrong caller for the native host. Every one is
 * refused, the service keeps serving the rightful caller, and nothing leaks.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationFor } from '../../native-host/src/serve/client-keys.js';
import { EXTENSION_ID } from '#shared/index.js';
import { CLI, runCli } from '../helpers/cli.js';
import { startNative } from '../helpers/native-client.js';
import { idleAs, otherUser, requestAs, squat, type CapturedRequest } from '../helpers/other-user.js';
import { challenge, erp, erpAnswers, ErpClient, startServeProcess, type ClientCredential, type ServeProcess } from '../helpers/serve-process.js';
import { reportFaults } from '../helpers/fault-summary.js';
import { faultWorld, type FaultWorld } from './fixture.js';

let w: FaultWorld;
let serve: ServeProcess;
let cred: ClientCredential;
const tally = { tried: 0, refused: 0, crashed: 0, lost: 0 };

beforeAll(async () => {
  w = await faultWorld();
  await w.addProfile();
  await w.authorize();
  cred = { name: 'erp', key: (JSON.parse((await runCli(['clients', 'add', 'erp', '--json'], w.env)).stdout) as { key: string }).key };
  w.secrets.push(cred.key);
  serve = await startServeProcess(['--check-interval', '0', '--refusal-log-every', '500ms'], w.env);
});

afterAll(async () => {
  await serve.stop();
  // A token answer carries the token by contract; every other answer must not.
  w.texts.push(...erpAnswers.filter((b) => !b.includes('"accessToken"')), serve.output().stdout, serve.output().stderr);
  const { scanned, hits } = await w.close();
  reportFaults({ group: 'abuse', ...tally });
  reportFaults({
    group: 'secrets-abuse',
    tried: scanned,
    refused: 0,
    crashed: 0,
    lost: hits.length,
    note: 'texts scanned for issued tokens, client keys, codes, secrets',
  });
  expect(hits).toEqual([]);
});

/** A raw HTTP exchange, for what node:http would not send. */
function raw(port: number, text: string | Buffer, waitMs = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => resolve(got));
    s.on('close', () => resolve(got));
    s.setTimeout(waitMs, () => s.destroy());
    s.write(text);
  });
}

async function refused(status: number, p: Promise<{ status: number; body: string }>): Promise<void> {
  const r = await p;
  tally.tried++;
  if (r.status === status) tally.refused++;
  expect(r.status, r.body).toBe(status);
}

describe('abuse of the local token service', () => {
  it('refuses missing and wrong keys, foreign hosts, web origins and bad methods', async () => {
    const p = serve.port;
    await refused(401, erp(p, '/v1/profiles/firma/token'));
    await refused(401, erp(p, '/v1/profiles/firma/token', { as: { name: 'erp', key: 'atk_wrong' } }));
    await refused(401, erp(p, '/v1/profiles/firma/token', { as: { name: 'erp', key: `${cred.key}x` } }));
    await refused(401, erp(p, '/v1/profiles/firma/token', { headers: { authorization: `Basic ${Buffer.from(`erp:${cred.key}`).toString('base64')}` } }));
    await refused(401, erp(p, '/v1/profiles/firma/token', { headers: { authorization: `Bearer ${cred.key}` } }));
    for (const host of ['evil.example', `localhost.evil.example:${p}`, `127.0.0.1:${p + 1}`, `127.0.0.1.nip.io:${p}`, `127.0.0.1:${p}.evil.example`]) {
      await refused(403, erp(p, '/v1/profiles/firma/token', { as: cred, host }));
    }
    // No Host, or an empty one (node:http would fill it in, so these go raw), with a proof made for either.
    const nonce = await challenge(p);
    for (const hostLine of ['', 'Host: \r\n']) {
      const answer = await raw(
        p,
        `GET /v1/profiles/firma/token HTTP/1.1\r\n${hostLine}Authorization: ${authorizationFor(cred.name, cred.key, nonce, '')}\r\nConnection: close\r\n\r\n`,
      );
      tally.tried++;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
      if (status === 400 || status === 403) tally.refused++;
      expect([400, 403], answer.slice(0, 80)).toContain(status);
    }
    for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${p}`]) {
      await refused(403, erp(p, '/v1/profiles/firma/token', { as: cred, headers: { origin } }));
    }
    await refused(405, erp(p, '/v1/profiles/firma/token', { as: cred, method: 'DELETE' }));
    // The rightful caller is still served.
    expect((await erp(p, '/v1/profiles/firma/token', { as: cred })).status).toBe(200);
  });

  it('refuses path tricks without reaching another profile or file', async () => {
    const p = serve.port;
    for (const path of [
      '/v1/profiles/../profiles/firma/token',
      '/v1/profiles/%2e%2e%2fetc%2fpasswd/token',
      '/v1/profiles/firma%2ftoken/token',
      '/v1/profiles/firma/token/../../healthz/x',
      '//v1/profiles/firma/token',
      '/v1/profiles/%ff/token',
      '/v1/profiles/' + 'a'.repeat(5000) + '/token',
      '/v1/profiles/firma%00/token',
    ]) {
      const r = await erp(p, path, { as: cred });
      tally.tried++;
      // Either no such route, or a normalised path to a real one: never a token for a twisted name.
      if ([400, 404, 405].includes(r.status) || (r.status === 200 && (r.json as { profile?: string }).profile === 'firma')) tally.refused++;
      if (r.status === 200) expect((r.json as { profile: string }).profile).toBe('firma');
      else expect([400, 404, 405]).toContain(r.status);
    }
  });

  it('cuts off oversized bodies and headers and keeps serving', async () => {
    const p = serve.port;
    const big = await raw(
      p,
      `POST /v1/profiles/firma/refresh HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nAuthorization: ${authorizationFor(cred.name, cred.key, await challenge(p), `127.0.0.1:${p}`)}\r\nContent-Length: 104857600\r\n\r\n${'x'.repeat(1_000_000)}`,
    );
    tally.tried++;
    if (!/^HTTP\/1\.1 200/.test(big)) tally.refused++;
    expect(big).not.toMatch(/^HTTP\/1\.1 200/);
    const hugeHeader = await raw(p, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nX-Pad: ${'y'.repeat(100_000)}\r\n\r\n`);
    tally.tried++;
    if (/^HTTP\/1\.1 431/.test(hugeHeader) || hugeHeader === '') tally.refused++;
    expect(hugeHeader === '' || /^HTTP\/1\.1 (400|431)/.test(hugeHeader)).toBe(true);
    const garbage = await raw(p, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00]));
    tally.tried++;
    if (!/ 200 /.test(garbage)) tally.refused++;
    expect(garbage).not.toMatch(/ 200 /);
    expect((await erp(p, '/healthz', { as: cred })).status).toBe(200);
    expect(serve.child.exitCode).toBe(null);
  });

  it('serves a valid proof at once after 50 failed ones from the same address; /healthz and browser requests count nothing', async () => {
    const p = serve.port;
    const wrong = { name: 'erp', key: `atk_${'g'.repeat(43)}` };
    // Browser-marked requests and /healthz, however many: refused or answered before anything is counted.
    for (const headers of [{ 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Mode': 'navigate' }, { Referer: 'https://evil.example/' }] as Record<
      string,
      string
    >[]) {
      for (let i = 0; i < 10; i++) await refused(403, erp(p, '/v1/profiles/firma/token', { as: wrong, headers }));
    }
    for (let i = 0; i < 30; i++) expect((await erp(p, '/healthz')).status).toBe(200);
    const t0 = performance.now();
    await refused(401, erp(p, '/v1/profiles/firma/token', { as: wrong }));
    expect(performance.now() - t0, 'the first failure after them is not held back').toBeLessThan(200);

    // 50 wrong proofs from one address, all at once; the rightful caller from the same address meanwhile and after.
    const nonce = await challenge(p);
    const flood = Promise.all(Array.from({ length: 50 }, () => erp(p, '/v1/profiles/firma/token', { as: wrong, nonce })));
    const t1 = performance.now();
    const during = await erp(p, '/v1/profiles/firma/token', { as: cred });
    const duringMs = performance.now() - t1;
    for (const a of await flood) {
      tally.tried++;
      if (a.status === 401) tally.refused++;
      if (a.status === 200) tally.lost++;
    }
    const t2 = performance.now();
    const after = await erp(p, '/v1/profiles/firma/token', { as: cred });
    const afterMs = performance.now() - t2;
    expect([during.status, after.status]).toEqual([200, 200]);
    expect(duringMs).toBeLessThan(500);
    expect(afterMs).toBeLessThan(500);
    // The old lockout: ten failures blocked every request from 127.0.0.1 for a minute.
    expect(serve.child.exitCode).toBe(null);
  });
});

/** A port free on both loopback addresses. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as net.AddressInfo;
        s.close(() => resolve(p));
      });
    });
    const v6free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen({ port, host: '::1', ipv6Only: true }, () => s.close(() => resolve(true)));
    });
    if (v6free) return port;
  }
}

/** Sends a captured request again, byte for byte, to `port` over the address family it came in. */
function replay(port: number, c: CapturedRequest): Promise<number> {
  const lines = [`${c.method} ${c.path} HTTP/1.1`];
  for (let i = 0; i + 1 < c.rawHeaders.length; i += 2) if (!/^connection$/i.test(c.rawHeaders[i]!)) lines.push(`${c.rawHeaders[i]}: ${c.rawHeaders[i + 1]}`);
  lines.push('Connection: close', '', '');
  return new Promise((resolve) => {
    const sock = net.connect(port, c.peer.includes(':') && c.peer !== '::ffff:127.0.0.1' ? '::1' : '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    sock.on('error', () => undefined);
    sock.write(lines.join('\r\n'));
  });
}

const header = (c: CapturedRequest, name: string) => {
  const i = c.rawHeaders.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
  return i < 0 ? undefined : c.rawHeaders[i + 1];
};

describe.skipIf(!otherUser())('another OS user on the same machine (a terminal server)', () => {
  it('(a) a program of theirs on the port while serve is down receives no reusable credential: all it captured, replayed to serve, gets 401', async () => {
    const u = otherUser()!;
    const port = await freePort();
    // serve ran on this port and handed out a nonce before it stopped (off Linux the other user could have fetched it).
    const before = await startServeProcess(['--port', String(port), '--check-interval', '0'], w.env);
    const oldNonce = await challenge(port);
    expect(await before.stop()).toBe(0);

    // The restart gap: the other user holds the port on both loopback addresses, twice: handing out
    // a nonce of its own, then the one our serve issued before it stopped.
    const captured: CapturedRequest[] = [];
    for (const nonce of [undefined, oldNonce]) {
      const sq = await squat(u, port, ['127.0.0.1', '::1'], nonce);
      for (const o of [{}, { ipv6: true }]) {
        // The ERP, doing exactly what docs/erp-api.md says, believes it got a token.
        const client = new ErpClient(port, cred, o);
        expect((await client.get('/v1/profiles/firma/token')).status).toBe(200);
        expect((await client.get('/v1/profiles/firma/refresh', 'POST')).status).toBe(200);
      }
      await sq.stop();
      captured.push(...sq.captured);
    }
    expect(captured).toHaveLength(8);
    // What it received: proofs, never the key.
    for (const c of captured) expect(header(c, 'authorization')).toMatch(/^AnafToken client="erp", nonce="[\w-]{43}", proof="[\w-]{43}"$/);
    const capturedText = JSON.stringify(captured);
    w.texts.push(capturedText);
    expect(capturedText).not.toContain(cred.key);

    // Our serve is back on the port: every captured request, replayed as it was, is refused.
    const after = await startServeProcess(['--port', String(port), '--check-interval', '0'], w.env);
    try {
      for (const c of captured) {
        const status = await replay(port, c);
        tally.tried++;
        if (status === 401) tally.refused++;
        if (status === 200) tally.lost++;
        expect(status, `${c.method} ${c.path} via ${c.peer}`).toBe(401);
      }
      // The same client code, talking to our serve, is served: the replays failed for the right reason.
      expect((await new ErpClient(port, cred).get('/v1/profiles/firma/token')).status).toBe(200);
    } finally {
      await after.stop();
    }
  });

  it('(b) with the port taken by them on ::1 only (or 127.0.0.1 only), serve refuses to start and names them', async () => {
    const u = otherUser()!;
    for (const taken of ['::1', '127.0.0.1']) {
      const port = await freePort();
      const sq = await squat(u, port, [taken]);
      try {
        const failed = await startServeProcess(['--port', String(port), '--check-interval', '0'], w.env).then(
          async (s) => {
            await s.stop();
            return '';
          },
          (e: Error) => e.message,
        );
        tally.tried++;
        if (failed.includes('SERVE_LISTEN_FAILED')) tally.refused++;
        else tally.lost++;
        expect(failed).toContain('SERVE_LISTEN_FAILED');
        expect(failed).toContain(`${taken.includes(':') ? `[${taken}]` : taken}:${port} is in use (EADDRINUSE) by another user: user ${u.name} (uid ${u.uid})`);
        // Nothing of ours is left listening on the other address.
        const other = taken === '::1' ? '127.0.0.1' : '::1';
        const open = await new Promise<boolean>((resolve) =>
          net
            .connect(port, other)
            .on('connect', function (this: net.Socket) {
              this.destroy();
              resolve(true);
            })
            .on('error', () => resolve(false)),
        );
        expect(open).toBe(false);
      } finally {
        await sq.stop();
      }
    }
  });

  it('(c) their requests to our running serve are dropped unanswered, even with a valid proof copied from our side', async () => {
    const u = otherUser()!;
    const p = serve.port;
    expect(serve.peerCheck).toBe('uid');
    const nonce = await challenge(p);
    for (const [address, host] of [
      ['127.0.0.1', `127.0.0.1:${p}`],
      ['::1', `[::1]:${p}`],
    ] as const) {
      const authorization = authorizationFor(cred.name, cred.key, nonce, host);
      // From our own user, this very request is served.
      expect((await erp(p, '/v1/profiles/firma/token', { ipv6: address === '::1', headers: { authorization } })).status).toBe(200);
      for (const [urlPath, headers] of [
        ['/v1/profiles/firma/token', { host, authorization }],
        ['/v1/challenge', { host }],
        ['/healthz', { host }],
      ] as const) {
        const r = await requestAs(u, p, address, urlPath, headers);
        tally.tried++;
        if (r.error !== undefined && r.status === undefined) tally.refused++;
        if (r.status === 200) tally.lost++;
        // Closed without a byte of answer (reset, or closed before the request was even written).
        expect(r.status, `${urlPath} via ${address}`).toBeUndefined();
        expect(['ECONNRESET', 'EPIPE'], `${urlPath} via ${address}`).toContain(r.error);
      }
      // A connection of theirs that sends nothing is closed too, once the socket table has said whose it is.
      const idle = await idleAs(u, p, address);
      tally.tried++;
      if (idle.closedAfterMs !== undefined) tally.refused++;
      expect(idle.closedAfterMs, `an idle connection via ${address}`).toBeLessThan(3_000);
    }
    // While serve runs they cannot take its port on either address.
    for (const taken of ['127.0.0.1', '::1']) await expect(squat(u, p, [taken])).rejects.toThrow('EADDRINUSE');
    // Refusals are summed up in the log (every 500 ms in this test, a minute by default).
    await new Promise((r) => setTimeout(r, 700));
    const log = fs.readFileSync(path.join(w.home, 'logs', 'anaf-token.log'), 'utf8');
    expect(log).toMatch(/serve\.refused .*peer=\d+/);
  });
});

describe('abuse of the native host', () => {
  it('refuses callers that are not the allowed extension', async () => {
    for (const origin of [
      `chrome-extension://${'a'.repeat(32)}/`,
      `chrome-extension://${EXTENSION_ID}`,
      `moz-extension://${EXTENSION_ID}/`,
      'file:///',
      '--parent-window=0',
      '',
    ]) {
      const s = startNative(process.execPath, [CLI, 'native', origin], w.env);
      const first = await s.next();
      tally.tried++;
      if ((first.error as { code?: string } | undefined)?.code === 'ORIGIN_NOT_ALLOWED') tally.refused++;
      expect(first).toMatchObject({ ok: false, error: { code: 'ORIGIN_NOT_ALLOWED' } });
      const end = await s.end();
      if (end.code !== 1) tally.crashed++;
      expect(end.code).toBe(1);
    }
  });
});
