/**
 * Abuse of the local token service and the native host: no or wrong key, a foreign Host, an
 * Origin header, oversized bodies, path tricks, a wrong caller for the native host. Every one
 * is refused, the service keeps serving the rightful caller, and nothing leaks.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_ID } from '../../shared/src/index.js';
import { CLI, runCli } from '../helpers/cli.js';
import { startNative } from '../helpers/native-client.js';
import { erp, erpAnswers, startServeProcess, type ClientCredential, type ServeProcess } from '../helpers/serve-process.js';
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
  serve = await startServeProcess(['--check-interval', '0'], w.env);
});

afterAll(async () => {
  await serve.stop();
  // A token answer carries the token by contract; every other answer must not.
  w.texts.push(...erpAnswers.filter((b) => !b.includes('"accessToken"')), serve.output().stdout, serve.output().stderr);
  const { scanned, hits } = await w.close();
  reportFaults({ group: 'abuse', ...tally });
  reportFaults({ group: 'secrets-abuse', tried: scanned, refused: 0, crashed: 0, lost: hits.length, note: 'texts scanned for issued tokens, client keys, codes, secrets' });
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
    // No Host, or an empty one (node:http would fill it in, so these go raw).
    for (const hostLine of ['', 'Host: \r\n']) {
      const answer = await raw(p, `GET /v1/profiles/firma/token HTTP/1.1\r\n${hostLine}Authorization: Bearer ${cred.key}\r\nConnection: close\r\n\r\n`);
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
      `POST /v1/profiles/firma/refresh HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nAuthorization: Bearer ${cred.key}\r\nContent-Length: 104857600\r\n\r\n${'x'.repeat(1_000_000)}`,
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

  it('slows down a caller that keeps guessing proofs, without locking out the rightful one', async () => {
    const p = serve.port;
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await erp(p, '/v1/profiles', { as: { name: 'erp', key: `atk_guess${i}` }, localAddress: '127.0.0.9' })).status);
    tally.tried += 15;
    tally.refused += statuses.filter((s) => s === 401).length;
    expect(statuses.every((s) => s === 401)).toBe(true);
    // The right key from that same address is served at once.
    expect((await erp(p, '/v1/profiles', { as: cred, localAddress: '127.0.0.9' })).status).toBe(200);
    expect((await erp(p, '/healthz')).status).toBe(200);
  });
});

describe('abuse of the native host', () => {
  it('refuses callers that are not the allowed extension', async () => {
    for (const origin of [`chrome-extension://${'a'.repeat(32)}/`, `chrome-extension://${EXTENSION_ID}`, `moz-extension://${EXTENSION_ID}/`, 'file:///', '--parent-window=0', '']) {
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
