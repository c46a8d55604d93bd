/** The pieces of `serve` that need no server: keys, guards, backoff, single-flight, routing, statuses. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { openDatabase } from '../../native-host/src/vault/sqlite.js';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '#shared/index.js';
import { durationSchema } from '../../native-host/src/cli/commands/serve.js';
import { Backoff } from '../../native-host/src/serve/backoff.js';
import { clientKeySchema, newClientKey } from '../../native-host/src/serve/client-keys.js';
import { allowedHosts, apiHeaders, checkHeaders } from '../../native-host/src/serve/guards.js';
import http from 'node:http';
import net from 'node:net';
import { errorBody, httpStatusFor } from '../../native-host/src/serve/http-errors.js';
import { matchRoute } from '../../native-host/src/serve/routes.js';
import { SingleFlight } from '../../native-host/src/serve/single-flight.js';
import { AppError } from '#shared/index.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { SCHEMA_SQL } from '../../native-host/src/vault/schema.js';
import { tempPaths } from '../helpers/temp.js';

const env = { ANAF_TOKEN_KEYSTORE: 'file' };

describe('client keys', () => {
  it('are random, well-formed, and stored only sealed with the vault key, bound to their client', () => {
    const a = newClientKey();
    const b = newClientKey();
    expect(a).not.toBe(b);
    expect(clientKeySchema.safeParse(a).success).toBe(true);

    const paths = tempPaths('keys');
    const vault = Vault.open({ paths, env });
    expect(vault.addApiClient('erp', a)).toMatchObject({ name: 'erp', oldKey: false, replacedOldKey: false });
    expect(vault.apiClientKey('erp')).toMatchObject({ state: 'ok', key: Buffer.from(a) });
    expect(vault.apiClientKey('nobody')).toBeUndefined();
    expect(() => vault.addApiClient('erp', b)).toThrowError(expect.objectContaining({ code: 'CLIENT_EXISTS' }));
    vault.close();
    const bytes = fs.readFileSync(paths.vaultFile);
    expect(bytes.includes(Buffer.from(a))).toBe(false);
    expect(bytes.includes(crypto.createHash('sha256').update(a).digest())).toBe(false);
  });

  it('mark a hash-only row of an older build as old, and let "clients add" replace it', () => {
    const paths = tempPaths('old-keys');
    Vault.open({ paths, env }).close();
    const db = openDatabase(paths.vaultFile);
    db.prepare('INSERT INTO api_clients (name, key_hash, created_at, personal_id) VALUES (?, ?, ?, 1)').run('erp', crypto.randomBytes(32), 5);
    db.close();
    const vault = Vault.open({ paths, env });
    expect(vault.listApiClients()).toEqual([{ name: 'erp', createdAt: 5, lastUsedAt: undefined, personalId: true, oldKey: true }]);
    expect(vault.apiClientKey('erp')).toMatchObject({ state: 'old', key: undefined });
    const key = newClientKey();
    expect(vault.addApiClient('erp', key)).toMatchObject({ replacedOldKey: true, personalId: false });
    expect(vault.apiClientKey('erp')).toMatchObject({ state: 'ok', key: Buffer.from(key) });
    vault.close();
  });

  it('live in a table that an older vault gains when it is opened, with the sealed-key column', () => {
    const paths = tempPaths('upgrade');
    Vault.open({ paths, env }).close();
    const db = openDatabase(paths.vaultFile);
    // What a vault written by the build before the token service looks like: no table, an older schema.
    db.exec("DROP TABLE api_clients; UPDATE meta SET v = 'older' WHERE k = 'schema_sql'");
    db.close();
    const vault = Vault.open({ paths, env });
    expect(vault.listApiClients()).toEqual([]);
    const meta = openDatabase(paths.vaultFile, { readOnly: true });
    expect(
      meta
        .prepare("SELECT k, v = ? AS current FROM meta WHERE k LIKE 'schema_%' ORDER BY k")
        .all(SCHEMA_SQL)
        .map((r) => [r.k, r.current]),
    ).toEqual([
      ['schema_sql', 1],
      ['schema_version', 0],
    ]);
    expect(meta.prepare('PRAGMA table_info(api_clients)').all()).toContainEqual(expect.objectContaining({ name: 'key_sealed' }));
    meta.close();
    vault.addApiClient('erp', newClientKey());
    expect(vault.listApiClients().map((c) => c.name)).toEqual(['erp']);
    vault.close();
  });
});

describe('request guards', () => {
  const hosts = allowedHosts(8787);
  it('accept loopback names with the right port only', () => {
    for (const host of ['127.0.0.1:8787', '[::1]:8787', 'localhost:8787', 'LOCALHOST:8787']) expect(checkHeaders({ host }, hosts)).toBeUndefined();
    for (const host of ['127.0.0.1', '127.0.0.1:8788', 'evil.example:8787', '127.0.0.1.nip.io:8787', '0.0.0.0:8787']) {
      expect(checkHeaders({ host }, hosts)?.code).toBe('HOST_NOT_ALLOWED');
    }
    expect(checkHeaders({}, hosts)?.code).toBe('HOST_NOT_ALLOWED');
  });
  it('refuse any Origin, Sec-Fetch-* or Referer', () => {
    expect(checkHeaders({ host: '127.0.0.1:8787', origin: 'null' }, hosts)?.code).toBe('WEB_ORIGIN_REFUSED');
    expect(checkHeaders({ host: '127.0.0.1:8787', origin: 'http://127.0.0.1:8787' }, hosts)?.code).toBe('WEB_ORIGIN_REFUSED');
    for (const raw of [
      ['Sec-Fetch-Site', 'none'],
      ['sec-fetch-mode', 'cors'],
      ['SEC-FETCH-DEST', 'empty'],
      ['Sec-Fetch-User', '?1'],
      ['Sec-Fetch-Storage-Access', 'none'],
      ['referer', 'https://a.example/'],
    ]) {
      const h = apiHeaders({ host: '127.0.0.1:8787', [raw[0]!.toLowerCase()]: raw[1] });
      expect(checkHeaders(h, hosts)).toMatchObject({ code: 'WEB_ORIGIN_REFUSED', detail: raw[0] === 'referer' ? 'Referer' : raw[0]!.toLowerCase() });
    }
    expect(checkHeaders(apiHeaders({ host: '127.0.0.1:8787', 'sec-fetch': 'x', referrer: 'y', 'content-length': '0' }), hosts)).toBeUndefined();
  });
});

describe('the headers the API reads', () => {
  it('take the first of a repeated Host or Authorization, any case, and the presence of Origin', async () => {
    const cases = [
      'Host: 127.0.0.1:8787\r\nAuthorization: Bearer a\r\n',
      'host: 127.0.0.1:8787\r\nauthorization: Bearer a\r\n',
      'HOST: evil.example\r\nHost: 127.0.0.1:8787\r\nAUTHORIZATION: Bearer first\r\nAuthorization: Bearer second\r\n',
      'Host: 127.0.0.1:8787\r\nX-Origin: x\r\norigin: null\r\nOrigin: https://a.example\r\n',
      'Host: 127.0.0.1:8787\r\nContent-Length: 5\r\n',
      'Host: 127.0.0.1:8787\r\nTransfer-Encoding: chunked\r\n',
      'Host: 127.0.0.1:8787\r\nHostX: y\r\nAuthorizations: z\r\nX-Authorization: Bearer no\r\n',
      // (Without any Host, Node answers 400 itself: requireHostHeader.)
    ];
    const seen: object[] = [];
    const server = http.createServer((req, res) => {
      const ours = apiHeaders(req.headers);
      seen.push({
        host: ours.host,
        origin: ours.origin,
        authorization: ours.authorization,
        'content-length': ours['content-length'],
        'transfer-encoding': ours['transfer-encoding'],
      });
      req.resume();
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    for (const headers of cases) {
      const body = headers.includes('Content-Length') ? 'abcde' : headers.includes('chunked') ? '0\r\n\r\n' : '';
      await new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.end(`POST / HTTP/1.1\r\n${headers}Connection: close\r\n\r\n${body}`));
        socket.on('data', () => undefined).on('close', () => resolve());
      });
    }
    await new Promise((r) => server.close(r));
    const none = { origin: undefined, authorization: undefined, 'content-length': undefined, 'transfer-encoding': undefined };
    expect(seen).toEqual([
      { ...none, host: '127.0.0.1:8787', authorization: 'Bearer a' },
      { ...none, host: '127.0.0.1:8787', authorization: 'Bearer a' },
      { ...none, host: 'evil.example', authorization: 'Bearer first' },
      { ...none, host: '127.0.0.1:8787', origin: expect.stringMatching(/^null/) },
      { ...none, host: '127.0.0.1:8787', 'content-length': '5' },
      { ...none, host: '127.0.0.1:8787', 'transfer-encoding': 'chunked' },
      { ...none, host: '127.0.0.1:8787' },
    ]);
  });
});

describe('refresh backoff', () => {
  it('doubles up to the maximum, and resets on success', () => {
    let now = 0;
    const b = new Backoff({ baseMs: 1_000, maxMs: 5_000, now: () => now });
    expect(b.waiting('p')).toBeUndefined();
    expect(b.fail('p', 'ANAF_UNAVAILABLE')).toBe(1_000);
    expect(b.waiting('p')).toMatchObject({ code: 'ANAF_UNAVAILABLE', retryInMs: 1_000 });
    now = 1_000;
    expect(b.waiting('p')).toBeUndefined();
    expect(b.fail('p', 'ANAF_UNAVAILABLE')).toBe(3_000);
    expect(b.fail('p', 'ANAF_UNAVAILABLE')).toBe(5_000);
    expect(b.fail('p', 'ANAF_UNAVAILABLE')).toBe(6_000);
    expect(b.nextAttemptAfter(now)).toBe(6_000);
    b.succeed('p');
    expect(b.waiting('p')).toBeUndefined();
    expect(b.nextAttemptAfter(now)).toBeUndefined();
  });
  it('forgets profiles that are no longer due', () => {
    const b = new Backoff({ baseMs: 1_000, maxMs: 5_000, now: () => 0 });
    b.fail('a', 'ANAF_UNAVAILABLE');
    b.fail('b', 'ANAF_UNAVAILABLE');
    b.forgetExcept(['b']);
    expect(b.waiting('a')).toBeUndefined();
    expect(b.waiting('b')).toBeDefined();
  });
});

describe('single flight', () => {
  it('shares one running call per key, then starts a new one', async () => {
    const f = new SingleFlight<number>();
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const run = () =>
      f.run('p', async () => {
        calls++;
        await gate;
        return calls;
      });
    const all = Promise.all([run(), run(), run(), f.run('other', async () => 99)]);
    release();
    expect(await all).toEqual([1, 1, 1, 99]);
    expect(await run()).toBe(2);
    const failing = f.run('x', async () => Promise.reject(new Error('boom')));
    await expect(failing).rejects.toThrow('boom');
    expect(f.isRunning('x')).toBe(false);
  });
});

describe('routes and statuses', () => {
  it('match the documented endpoints exactly', () => {
    expect(matchRoute('GET', '/healthz')).toEqual({ kind: 'health' });
    expect(matchRoute('GET', '/v1/challenge')).toEqual({ kind: 'challenge' });
    expect(matchRoute('POST', '/v1/challenge')).toEqual({ kind: 'bad-method', allow: 'GET' });
    expect(matchRoute('GET', '/v1/profiles?x=1')).toEqual({ kind: 'profiles' });
    expect(matchRoute('GET', '/v1/profiles/firma/token')).toEqual({ kind: 'token', profile: 'firma' });
    expect(matchRoute('POST', '/v1/profiles/firma%2Eb/refresh')).toEqual({ kind: 'refresh', profile: 'firma.b' });
    expect(matchRoute('GET', '/v1/profiles/firma/refresh')).toEqual({ kind: 'bad-method', allow: 'POST' });
    expect(matchRoute('POST', '/healthz')).toEqual({ kind: 'bad-method', allow: 'GET' });
    expect(matchRoute('GET', '/v1/profiles/')).toEqual({ kind: 'not-found' });
    expect(matchRoute('GET', '/v1/profiles/a/b/token')).toEqual({ kind: 'not-found' });
    expect(matchRoute('GET', '/v1/profiles/%E0/token')).toEqual({ kind: 'not-found' });
  });
  it('give every error code an HTTP status as documented', () => {
    const expected: Record<string, number> = {
      API_KEY_INVALID: 401,
      API_BEARER_REFUSED: 401,
      API_CLIENT_KEY_OLD: 401,
      HOST_NOT_ALLOWED: 403,
      WEB_ORIGIN_REFUSED: 403,
      PROFILE_NOT_FOUND: 404,
      NO_TOKEN: 409,
      TOKEN_DEAD: 409,
      ANAF_BAD_RESPONSE: 502,
      ANAF_UNAVAILABLE: 503,
      TOKEN_EXPIRED: 503,
      INTERNAL: 500,
      VAULT_LOCKED: 500,
    };
    for (const [code, status] of Object.entries(expected)) expect(httpStatusFor(code as (typeof ERROR_CODES)[number]), code).toBe(status);
    for (const code of ERROR_CODES) expect(httpStatusFor(code)).toBeGreaterThanOrEqual(400);
  });
  it('never echo a secret in an error detail', () => {
    const body = errorBody(new AppError('ANAF_BAD_RESPONSE', 'got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl back'));
    expect(body.error.detail).toBe('got [jwt] back');
  });
  it('parse durations for --check-interval', () => {
    expect(durationSchema.parse('1h')).toBe(3_600_000);
    expect(durationSchema.parse('250ms')).toBe(250);
    expect(durationSchema.parse('0')).toBe(0);
    expect(durationSchema.safeParse('25h').success).toBe(false);
    expect(durationSchema.safeParse('5').success).toBe(false);
  });
});
