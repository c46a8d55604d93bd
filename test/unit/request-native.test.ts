/**
 * Request links over native messaging (the requester's side in the extension): the four message
 * types' schemas (bounded, strict) and their handlers against a real vault and requests file,
 * refusals included. The holder's part is the shared code the extension runs.
 */
import fs from 'node:fs';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_FROM_BROWSER_BYTES, parseRequest, resultSchemas, type Request } from '#shared/protocol/messages.js';
import { checkRequestLink, openSecret, sealAnswer } from '#shared/request/crypto.js';
import { IMPORT_GRACE_MS, MAX_VALID_MS, MIN_VALID_MS, splitAnswer, joinAnswer } from '#shared/request/format.js';
import { App } from '../../native-host/src/app.js';
import { createLogger } from '../../native-host/src/log/logger.js';
import { handle } from '../../native-host/src/native/handlers.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { LARGEST_REQUESTS, encodedBytes } from '../helpers/largest-request.js';
import { tempPaths } from '../helpers/temp.js';
import { refusedWith } from '../helpers/app-error.js';

const HOUR = 3_600_000;
const SECRET = 'native-req-secret-0123456789abcdef';
const SERIAL = '0a:1b:2c:3d:4e:5f';

function parsed(m: Record<string, unknown>): Request {
  const r = parseRequest({ id: 'm1', ...m });
  if (!r.success) throw new Error(`${String(m.type)}: ${r.issue.path} ${r.issue.code}`);
  return r.data;
}

const valid = (m: Record<string, unknown>) => parseRequest({ id: 'm1', ...m }).success;

describe('request.* message schemas', () => {
  it('accept the four types with their fields', () => {
    expect(valid({ type: 'request.create', profile: 'firma', validMs: 5 * HOUR })).toBe(true);
    expect(valid({ type: 'request.create', profile: 'firma', validMs: HOUR, note: ' Ana ', passphrase: 'mar-7-pere' })).toBe(true);
    expect(parsed({ type: 'request.create', profile: 'firma', validMs: HOUR, note: '  Ana  ' })).toMatchObject({ note: 'Ana' });
    expect(valid({ type: 'request.list' })).toBe(true);
    expect(valid({ type: 'request.cancel', requestId: 'A'.repeat(22) })).toBe(true);
    expect(valid({ type: 'request.import', answer: 'ara1.abc.def' })).toBe(true);
  });

  it('refuse what is out of bounds, unknown or not an answer', () => {
    expect(valid({ type: 'request.create', profile: 'firma', validMs: MIN_VALID_MS - 1 })).toBe(false);
    expect(valid({ type: 'request.create', profile: 'firma', validMs: MAX_VALID_MS + 1 })).toBe(false);
    expect(valid({ type: 'request.create', profile: 'firma', validMs: 1.5 * HOUR + 0.5 })).toBe(false);
    expect(valid({ type: 'request.create', profile: 'firma', validMs: HOUR, note: 'x'.repeat(201) })).toBe(false);
    expect(valid({ type: 'request.create', profile: 'firma', validMs: HOUR, note: '   ' })).toBe(false);
    expect(valid({ type: 'request.create', profile: 'firma', validMs: HOUR, passphrase: 'abc' })).toBe(false);
    expect(valid({ type: 'request.create', profile: 'firma', validMs: HOUR, passphrase: 'p'.repeat(129) })).toBe(false);
    expect(valid({ type: 'request.create', profile: '../x', validMs: HOUR })).toBe(false);
    expect(valid({ type: 'request.create', profile: 'firma', validMs: HOUR, clientSecret: 's' })).toBe(false);
    expect(valid({ type: 'request.list', profile: 'firma' })).toBe(false);
    expect(valid({ type: 'request.cancel', requestId: 'A'.repeat(21) })).toBe(false);
    expect(valid({ type: 'request.cancel', requestId: `${'A'.repeat(21)}=` })).toBe(false);
    // The extension cuts the answer out of the pasted text: mail text around it is refused here.
    expect(valid({ type: 'request.import', answer: 'Bună ziua, ara1.abc.def' })).toBe(false);
    expect(valid({ type: 'request.import', answer: '' })).toBe(false);
    expect(valid({ type: 'request.import', answer: 'a'.repeat(48 * 1024 + 1) })).toBe(false);
  });

  it('their longest valid messages fit under the frame cap, which they do not raise', () => {
    for (const t of ['request.create', 'request.list', 'request.cancel', 'request.import']) {
      const m = LARGEST_REQUESTS[t]!;
      expect(parseRequest(m).success, t).toBe(true);
      expect(encodedBytes(m), t).toBeLessThan(MAX_FROM_BROWSER_BYTES);
    }
  });

  it('results: the list never carries a private key or a state hash (strict shape)', () => {
    const row = { id: 'A'.repeat(22), profile: 'firma', status: 'pending', createdAt: new Date().toISOString(), expiresAt: new Date().toISOString() };
    expect(resultSchemas['request.list'].safeParse({ requests: [row] }).success).toBe(true);
    expect(resultSchemas['request.list'].safeParse({ requests: [{ ...row, status: 'open' }] }).success).toBe(false);
    expect(resultSchemas['request.import'].safeParse({ profile: 'firma', requestId: 'A'.repeat(22), generation: 1, certificate: {} }).success).toBe(true);
    expect(resultSchemas['request.create'].safeParse({ id: 'A'.repeat(22), link: 'x', expiresAt: 'tomorrow' }).success).toBe(false);
  });
});

async function jwt(claims: Record<string, unknown>, exp: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode('k'.repeat(32)));
}

/** The holder's side, as the request page does it. */
async function answerTo(link: string, at: number, passphrase?: string): Promise<{ answer: string; access: string }> {
  const req = await checkRequestLink(link, at);
  expect(await openSecret(req, passphrase)).toBe(SECRET);
  const sec = Math.floor(at / 1000);
  const access = await jwt({ serial: SERIAL, issuer: 'Native Test CA', roles: 'HELLO@EFACTURA' }, sec + 90 * 86_400);
  const refresh = await jwt({ serial: SERIAL }, sec + 365 * 86_400);
  return {
    answer: await sealAnswer(req.body, req.body.st, { access_token: access, refresh_token: refresh, expires_in: 7_776_000, token_type: 'Bearer' }, at),
    access,
  };
}

describe('request.* handlers (real vault, real requests file)', () => {
  let t: number;
  const apps: App[] = [];

  function requester(name: string) {
    const paths = tempPaths(name);
    const vault = Vault.open({ paths, env: { ANAF_TOKEN_KEYSTORE: 'file' } });
    vault.saveProfile(
      { name: 'firma', clientId: 'cid-n', clientSecret: SECRET, redirectUri: 'https://erp.example.ro/cb', env: 'https://127.0.0.1:9', refreshWindowDays: 14 },
      'create',
    );
    vault.close();
    const app = new App({ paths, log: createLogger({ component: 'test', file: paths.logFile }), now: () => t });
    apps.push(app);
    const call = async <T>(m: Record<string, unknown>) => (await handle(app, parsed(m))) as T;
    return { app, paths, call };
  }

  beforeEach(() => {
    vi.stubEnv('ANAF_TOKEN_KEYSTORE', 'file');
    t = Date.UTC(2026, 10, 30, 12);
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
    vi.unstubAllEnvs();
  });

  it('create → list → (holder answers) → import stores the tokens and names the certificate; a replay is REQUEST_USED', async () => {
    const r = requester('req-native');
    const made = await r.call<{ id: string; link: string; expiresAt: string }>({ type: 'request.create', profile: 'firma', validMs: 5 * HOUR, note: 'Ana' });
    expect(resultSchemas['request.create'].safeParse(made).success).toBe(true);
    expect(made.link).toMatch(/^chrome-extension:\/\/[a-p]{32}\/request\.html#ar1\./);
    expect(made.link).not.toContain(SECRET);
    expect(Date.parse(made.expiresAt)).toBe(t + 5 * HOUR);

    const listed = await r.call<{ requests: Record<string, unknown>[] }>({ type: 'request.list' });
    expect(resultSchemas['request.list'].safeParse(listed).success).toBe(true);
    expect(listed.requests).toEqual([
      { id: made.id, profile: 'firma', note: 'Ana', status: 'pending', createdAt: new Date(t).toISOString(), expiresAt: made.expiresAt },
    ]);
    expect(JSON.stringify(listed)).not.toMatch(/privateJwk|stateHash|"d"/);

    t += HOUR;
    const { answer, access } = await answerTo(made.link, t);
    const done = await r.call<Record<string, unknown>>({ type: 'request.import', answer });
    expect(resultSchemas['request.import'].safeParse(done).success).toBe(true);
    expect(done).toMatchObject({
      profile: 'firma',
      requestId: made.id,
      generation: 1,
      certificate: { serialHex: '0A1B2C3D4E5F', issuer: 'Native Test CA', source: 'jwt' },
    });
    expect((await r.app.store.readTokens('firma'))?.accessToken).toBe(access);

    const after = await r.call<{ requests: Record<string, unknown>[] }>({ type: 'request.list' });
    expect(after.requests[0]).toMatchObject({ status: 'used', certificateSerial: '0A1B2C3D4E5F' });
    await refusedWith(r.call({ type: 'request.import', answer }), 'REQUEST_USED');
    // Cancelling a used request says so.
    await refusedWith(r.call({ type: 'request.cancel', requestId: made.id }), 'REQUEST_USED');
    // Nothing of the tokens or the secret went to the log.
    const log = fs.readFileSync(r.paths.logFile, 'utf8');
    expect(log).toContain('request.created');
    expect(log).not.toContain(access);
    expect(log).not.toContain(SECRET);
  });

  it('with a passphrase (never logged): the holder needs it to open the secret', async () => {
    const r = requester('req-native-pw');
    const made = await r.call<{ link: string }>({ type: 'request.create', profile: 'firma', validMs: HOUR, passphrase: 'mar-7-pere' });
    const req = await checkRequestLink(made.link, t);
    await refusedWith(openSecret(req, 'mar-7-pera'), 'REQUEST_PASSPHRASE_WRONG');
    expect((await answerTo(made.link, t, 'mar-7-pere')).answer).toMatch(/^ara1\./);
    expect(fs.readFileSync(r.paths.logFile, 'utf8')).not.toContain('mar-7-pere');
  });

  it('refusals: cancelled, expired past the grace, tampered, foreign, unknown profile and id', async () => {
    const r = requester('req-native-refusals');
    const a = await r.call<{ id: string; link: string }>({ type: 'request.create', profile: 'firma', validMs: HOUR });
    const b = await r.call<{ id: string; link: string }>({ type: 'request.create', profile: 'firma', validMs: HOUR });
    const answerA = (await answerTo(a.link, t)).answer;
    const answerB = (await answerTo(b.link, t)).answer;

    expect(await r.call({ type: 'request.cancel', requestId: a.id })).toEqual({ requestId: a.id, cancelled: true });
    await refusedWith(r.call({ type: 'request.import', answer: answerA }), 'REQUEST_CANCELLED');
    await refusedWith(r.call({ type: 'request.cancel', requestId: a.id }), 'REQUEST_CANCELLED');
    await refusedWith(r.call({ type: 'request.cancel', requestId: 'Z'.repeat(22) }), 'REQUEST_NOT_FOUND');

    // One character of the ciphertext changed.
    const p = splitAnswer(answerB);
    const ct = p.ct.slice(0, 10) + (p.ct[10] === 'A' ? 'B' : 'A') + p.ct.slice(11);
    await refusedWith(r.call({ type: 'request.import', answer: joinAnswer({ ...p, ct }) }), 'REQUEST_TAMPERED');
    await refusedWith(r.call({ type: 'request.import', answer: 'ara1.short' }), 'REQUEST_TAMPERED');

    // An answer to a request made on another machine.
    const other = requester('req-native-other');
    const foreign = await other.call<{ link: string }>({ type: 'request.create', profile: 'firma', validMs: HOUR });
    await refusedWith(r.call({ type: 'request.import', answer: (await answerTo(foreign.link, t)).answer }), 'REQUEST_FOREIGN');

    await refusedWith(r.call({ type: 'request.create', profile: 'nobody', validMs: HOUR }), 'PROFILE_NOT_FOUND');

    // Past the expiry and its grace: the key is gone, the answer cannot open.
    t += HOUR + IMPORT_GRACE_MS + 1000;
    await refusedWith(r.call({ type: 'request.import', answer: answerB }), 'REQUEST_EXPIRED');
    const listed = await r.call<{ requests: { id: string; status: string }[] }>({ type: 'request.list' });
    expect(Object.fromEntries(listed.requests.map((x) => [x.id, x.status]))).toEqual({ [a.id]: 'cancelled', [b.id]: 'expired' });
    expect(await r.app.store.readTokens('firma')).toBeUndefined();
  });
});
