/**
 * Request links (issue 12): the shared formats and their cryptography, the requester's store of
 * open requests, and every refusal of the import. The holder's side here is the same shared code
 * the extension runs (checkRequestLink, openSecret, sealAnswer); the browser run is in
 * test/e2e/request-link.e2e.test.ts.
 */
import fs from 'node:fs';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRequestLink, openSecret, sealAnswer } from '#shared/request/crypto.js';
import { IMPORT_GRACE_MS, splitAnswer, splitLink, joinAnswer, type AnswerTokens } from '#shared/request/format.js';
import { createLogger } from '../../native-host/src/log/logger.js';
import { PendingRequests } from '../../native-host/src/request/pending-store.js';
import { cancelLinkRequest, createLinkRequest, importAnswer, EXTENSION_ORIGIN } from '../../native-host/src/request/requests.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { tempPaths } from '../helpers/temp.js';
import { refusedWith } from '../helpers/app-error.js';

const HOUR = 3_600_000;
const SECRET = 'client-secret-XYZ-0123456789abcdef';
const SERIAL = '1a:2b:3c:4d:5e:6f:70:81';

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

function requester(name = 'req') {
  let t = Date.UTC(2026, 10, 30, 12, 0, 0);
  const now = () => t;
  const paths = tempPaths(name);
  const vault = Vault.open({ paths, env: { ANAF_TOKEN_KEYSTORE: 'file' }, now });
  vault.saveProfile(
    {
      name: 'firma',
      clientId: 'client-abc',
      clientSecret: SECRET,
      redirectUri: 'https://erp.example.ro/anaf/cb',
      env: 'https://127.0.0.1:9',
      refreshWindowDays: 14,
    },
    'create',
  );
  const pending = PendingRequests.open({ paths, now, env: { ANAF_TOKEN_KEYSTORE: 'file' } });
  opened.push(vault, pending);
  const log = createLogger({ component: 'test', file: paths.logFile });
  return { vault, pending, paths, now, log, advance: (ms: number) => (t += ms) };
}

async function jwt(claims: Record<string, unknown>, expSeconds: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(expSeconds)
    .sign(new TextEncoder().encode('k'.repeat(32)));
}

async function anafTokens(now: number): Promise<AnswerTokens> {
  const sec = Math.floor(now / 1000);
  return {
    access_token: await jwt(
      { iss: 'https://logincert.anaf.ro', serial: SERIAL, sub: SERIAL.replace(/:/g, ''), issuer: 'Test Qualified CA', roles: 'HELLO@EFACTURA' },
      sec + 90 * 86_400,
    ),
    refresh_token: await jwt({ serial: SERIAL, kind: 'refresh' }, sec + 365 * 86_400),
    expires_in: 7_776_000,
    token_type: 'Bearer',
  };
}

/** The holder's side, as the extension does it, without the browser. */
async function holderAnswers(link: string, now: number, opts: { passphrase?: string; state?: string } = {}) {
  const req = await checkRequestLink(link, now);
  const secret = await openSecret(req, opts.passphrase);
  const answer = await sealAnswer(req.body, opts.state ?? req.body.st, await anafTokens(now), now);
  return { req, secret, answer };
}

describe('request link: create, answer, import', () => {
  it('round trip: the holder opens the secret and seals the tokens; the import stores them as an authorization and names the certificate', async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: 5 * HOUR, note: 'Contabilitate, Ana', now: r.now() });
    expect(made.link.startsWith(`${EXTENSION_ORIGIN}/request.html#ar1.`)).toBe(true);
    // The secret travels sealed; the key only in the fragment.
    expect(made.link).not.toContain(SECRET);
    expect(new URL(made.link).hash.length).toBe(made.link.length - made.link.indexOf('#'));
    console.info(`request link: ${made.link.length} characters`);

    const { req, secret, answer } = await holderAnswers(made.link, r.now() + HOUR);
    expect(secret).toBe(SECRET);
    expect(req.body).toMatchObject({
      cid: 'client-abc',
      cb: 'https://erp.example.ro/anaf/cb',
      env: 'https://127.0.0.1:9',
      by: 'Contabilitate, Ana',
      exp: made.expiresAt,
    });
    console.info(`answer: ${answer.length} characters`);

    r.advance(HOUR);
    const done = await importAnswer(r.vault, r.pending, answer, r.now(), r.log);
    expect(done.certificate.serialHex).toBe('1A2B3C4D5E6F7081');
    expect(done.certificate.issuer).toBe('Test Qualified CA');
    const stored = r.vault.readTokens('firma');
    expect(stored?.accessToken).toBe((await anafTokens(r.now())).access_token);
    const record = r.vault.findToken('firma')!;
    expect(record).toMatchObject({ stateEchoed: true, generation: 1, authorizedAt: r.now() });
    const after = r.pending.get(made.id)!;
    expect(after).toMatchObject({ status: 'used', hasKey: false });
    // Nothing secret left in the requester's request file: no key, no state, no secret.
    const file = fs.readFileSync(`${r.paths.dataDir}/requests.sqlite`);
    expect(file.includes(Buffer.from(req.body.st))).toBe(false);
    expect(file.includes(Buffer.from(SECRET))).toBe(false);
    expect(file.includes(Buffer.from('"d":'))).toBe(false);
    expect(fs.statSync(`${r.paths.dataDir}/requests.sqlite`).mode & 0o777).toBe(0o600);
  });

  it('with a passphrase: the right one opens the secret; a wrong or missing one is REQUEST_PASSPHRASE_WRONG', async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, passphrase: 'mar-7-pere', now: r.now() });
    const req = await checkRequestLink(made.link, r.now());
    expect(req.needsPassphrase).toBe(true);
    await refusedWith(openSecret(req, 'mar-7-pera'), 'REQUEST_PASSPHRASE_WRONG');
    await refusedWith(openSecret(req), 'REQUEST_PASSPHRASE_WRONG');
    expect(await openSecret(req, 'mar-7-pere')).toBe(SECRET);
  });

  it('a changed or cut link is REQUEST_TAMPERED, whichever part changed', async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const parts = splitLink(made.link);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const base = made.link.slice(0, made.link.indexOf('#') + 1);
    for (const changed of [
      { ...parts, body: flip(parts.body, 40) },
      { ...parts, mac: flip(parts.mac, 3) },
      { ...parts, key: flip(parts.key, 10) },
    ]) {
      await refusedWith(checkRequestLink(`${base}ar1.${changed.body}.${changed.mac}.${changed.key}`, r.now()), 'REQUEST_TAMPERED');
    }
    await refusedWith(checkRequestLink(made.link.slice(0, -5), r.now()), 'REQUEST_TAMPERED');
    await refusedWith(checkRequestLink('https://example.com/#nothing', r.now()), 'REQUEST_TAMPERED');
    // Found inside a pasted mail.
    expect((await checkRequestLink(`Bună ziua,\n${made.link}\nMulțumesc`, r.now())).body.id).toBe(made.id);
  });

  it('an expired link is refused by the holder; an answer past the expiry and the grace by the requester', async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    await refusedWith(checkRequestLink(made.link, made.expiresAt), 'REQUEST_EXPIRED');
    const { answer } = await holderAnswers(made.link, made.expiresAt - 1000);
    r.advance(HOUR + IMPORT_GRACE_MS + 1000);
    await refusedWith(importAnswer(r.vault, r.pending, answer, r.now(), r.log), 'REQUEST_EXPIRED');
    // Reopening the store erases the private key of a request past its grace.
    PendingRequests.open({ paths: r.paths, now: r.now, env: { ANAF_TOKEN_KEYSTORE: 'file' } }).close();
    expect(r.pending.get(made.id)).toMatchObject({ status: 'expired', hasKey: false });
    expect(r.vault.findToken('firma')).toBeUndefined();
  });

  it('an answer made just before the expiry is still imported within the grace', async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const { answer } = await holderAnswers(made.link, made.expiresAt - 1000);
    r.advance(HOUR + IMPORT_GRACE_MS / 2);
    await importAnswer(r.vault, r.pending, answer, r.now(), r.log);
    expect(r.vault.findToken('firma')).toBeDefined();
  });

  it('a replayed answer is REQUEST_USED; two imports at once store once', async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const { answer } = await holderAnswers(made.link, r.now());
    const results = await Promise.allSettled([
      importAnswer(r.vault, r.pending, answer, r.now(), r.log),
      importAnswer(r.vault, r.pending, answer, r.now(), r.log),
    ]);
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    expect(r.vault.findToken('firma')?.generation).toBe(1);
    await refusedWith(importAnswer(r.vault, r.pending, answer, r.now(), r.log), 'REQUEST_USED');
    // A second answer to the same link (the holder opened it twice) is refused as well.
    const { answer: second } = await holderAnswers(made.link, r.now());
    await refusedWith(importAnswer(r.vault, r.pending, second, r.now(), r.log), 'REQUEST_USED');
    expect(r.vault.findToken('firma')?.generation).toBe(1);
  });

  it('a changed answer is REQUEST_TAMPERED; nothing is stored and the request stays open', async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const { answer } = await holderAnswers(made.link, r.now());
    const p = splitAnswer(answer);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    await refusedWith(importAnswer(r.vault, r.pending, joinAnswer({ ...p, ct: flip(p.ct, 50) }), r.now(), r.log), 'REQUEST_TAMPERED');
    await refusedWith(importAnswer(r.vault, r.pending, joinAnswer({ ...p, iv: flip(p.iv, 2) }), r.now(), r.log), 'REQUEST_TAMPERED');
    await refusedWith(importAnswer(r.vault, r.pending, joinAnswer({ ...p, epk: flip(p.epk, 30) }), r.now(), r.log), 'REQUEST_TAMPERED');
    await refusedWith(importAnswer(r.vault, r.pending, answer.slice(0, -10), r.now(), r.log), 'REQUEST_TAMPERED');
    expect(r.vault.findToken('firma')).toBeUndefined();
    expect(r.pending.get(made.id)?.status).toBe('pending');
    await importAnswer(r.vault, r.pending, answer, r.now(), r.log);
  });

  it("an answer for another request is refused: another of ours (id rewritten) is TAMPERED, another requester's is FOREIGN", async () => {
    const r = requester();
    const a = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const b = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const { answer } = await holderAnswers(a.link, r.now());
    await refusedWith(importAnswer(r.vault, r.pending, joinAnswer({ ...splitAnswer(answer), id: b.id }), r.now(), r.log), 'REQUEST_TAMPERED');

    const other = requester('other');
    const theirs = await createLinkRequest(other.vault, other.pending, { profile: 'firma', validMs: HOUR, now: other.now() });
    const { answer: forThem } = await holderAnswers(theirs.link, other.now());
    await refusedWith(importAnswer(r.vault, r.pending, forThem, r.now(), r.log), 'REQUEST_FOREIGN');
    expect(r.vault.findToken('firma')).toBeUndefined();
  });

  it("a cancelled request's answer is REQUEST_CANCELLED; cancel of an unknown id is REQUEST_NOT_FOUND", async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const { answer } = await holderAnswers(made.link, r.now());
    cancelLinkRequest(r.pending, made.id);
    expect(r.pending.get(made.id)).toMatchObject({ status: 'cancelled', hasKey: false });
    await refusedWith(importAnswer(r.vault, r.pending, answer, r.now(), r.log), 'REQUEST_CANCELLED');
    expect(() => cancelLinkRequest(r.pending, 'A'.repeat(22))).toThrow(expect.objectContaining({ code: 'REQUEST_NOT_FOUND' }) as Error);
    expect(() => cancelLinkRequest(r.pending, made.id)).toThrow(expect.objectContaining({ code: 'REQUEST_CANCELLED' }) as Error);
  });

  it("an answer whose state is not the request's is STATE_MISMATCH", async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const { answer } = await holderAnswers(made.link, r.now(), { state: 'x'.repeat(43) });
    await refusedWith(importAnswer(r.vault, r.pending, answer, r.now(), r.log), 'STATE_MISMATCH');
  });

  it("a profile whose client ID or callback changed since the request refuses the answer's tokens", async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const { answer } = await holderAnswers(made.link, r.now());
    r.vault.saveProfile(
      {
        name: 'firma',
        clientId: 'client-new',
        clientSecret: SECRET,
        redirectUri: 'https://erp.example.ro/anaf/cb',
        env: 'https://127.0.0.1:9',
        refreshWindowDays: 14,
      },
      'upsert',
    );
    await refusedWith(importAnswer(r.vault, r.pending, answer, r.now(), r.log), 'REQUEST_PROFILE_CHANGED');
  });

  it('bounds: --valid outside 5 minutes..72 hours, an unknown profile', async () => {
    const r = requester();
    await refusedWith(createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: 60_000, now: r.now() }), 'BAD_REQUEST');
    await refusedWith(createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: 73 * HOUR, now: r.now() }), 'BAD_REQUEST');
    await refusedWith(createLinkRequest(r.vault, r.pending, { profile: 'nobody', validMs: HOUR, now: r.now() }), 'PROFILE_NOT_FOUND');
  });

  it("an open request's private key is sealed with this computer's request key: a copy of requests.sqlite opens no answer", async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const { answer } = await holderAnswers(made.link, r.now());
    const jwk = r.pending.privateKey(made.id);
    expect(jwk.d).toMatch(/^[\w-]{43}$/);
    const file = fs.readFileSync(`${r.paths.dataDir}/requests.sqlite`);
    const wal = fs.existsSync(`${r.paths.dataDir}/requests.sqlite-wal`) ? fs.readFileSync(`${r.paths.dataDir}/requests.sqlite-wal`) : Buffer.alloc(0);
    for (const bytes of [file, wal]) {
      expect(bytes.includes(Buffer.from(jwk.d!))).toBe(false);
      expect(bytes.includes(Buffer.from('"d":'))).toBe(false);
    }
    expect(fs.statSync(`${r.paths.dataDir}/requests.key`).mode & 0o777).toBe(0o600);

    // The same file on another computer (another data folder, no request key): refused, nothing stored.
    const other = requester('copy');
    other.pending.close();
    opened.splice(opened.indexOf(other.pending), 1);
    fs.copyFileSync(`${r.paths.dataDir}/requests.sqlite`, `${other.paths.dataDir}/requests.sqlite`);
    const copied = PendingRequests.open({ paths: other.paths, now: other.now, env: { ANAF_TOKEN_KEYSTORE: 'file' } });
    opened.push(copied);
    await refusedWith(importAnswer(other.vault, copied, answer, other.now(), other.log), 'REQUEST_KEY_UNREADABLE');
    expect(other.vault.findToken('firma')).toBeUndefined();
    // With another machine's request key: the same refusal (GCM does not open).
    await createLinkRequest(other.vault, copied, { profile: 'firma', validMs: HOUR, now: other.now() });
    await refusedWith(importAnswer(other.vault, copied, answer, other.now(), other.log), 'REQUEST_KEY_UNREADABLE');
    // A damaged requests.key (or a DPAPI file of another user): new requests still work, with a new key.
    fs.writeFileSync(`${other.paths.dataDir}/requests.key`, 'not a key at all');
    const again = PendingRequests.open({ paths: other.paths, now: other.now, env: { ANAF_TOKEN_KEYSTORE: 'file' } });
    opened.push(again);
    const fresh = await createLinkRequest(other.vault, again, { profile: 'firma', validMs: HOUR, now: other.now() });
    const { answer: freshAnswer } = await holderAnswers(fresh.link, other.now());
    await importAnswer(other.vault, again, freshAnswer, other.now(), other.log);
    expect(other.vault.findToken('firma')).toBeDefined();
    // Back home it still works.
    await importAnswer(r.vault, r.pending, answer, r.now(), r.log);
    expect(r.vault.findToken('firma')).toBeDefined();
  });

  it('a requests file written before the request key has its private keys sealed when opened, and its answers still import', async () => {
    const r = requester();
    const made = await createLinkRequest(r.vault, r.pending, { profile: 'firma', validMs: HOUR, now: r.now() });
    const { answer } = await holderAnswers(made.link, r.now());
    const jwk = r.pending.privateKey(made.id);
    r.pending.close();
    opened.splice(opened.indexOf(r.pending), 1);
    // Rewrite the row as the earlier build kept it: the JWK as text in private_jwk, no request key.
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(`${r.paths.dataDir}/requests.sqlite`);
    db.exec('ALTER TABLE requests ADD COLUMN private_jwk TEXT; DELETE FROM meta;');
    db.prepare('UPDATE requests SET private_jwk = ?, private_key = NULL WHERE id = ?').run(JSON.stringify(jwk), made.id);
    db.exec('ALTER TABLE requests DROP COLUMN private_key');
    db.close();
    fs.rmSync(`${r.paths.dataDir}/requests.key`);

    const reopened = PendingRequests.open({ paths: r.paths, now: r.now, env: { ANAF_TOKEN_KEYSTORE: 'file' } });
    opened.push(reopened);
    expect(reopened.get(made.id)).toMatchObject({ status: 'pending', hasKey: true });
    const bytes = fs.readFileSync(`${r.paths.dataDir}/requests.sqlite`);
    expect(bytes.includes(Buffer.from(jwk.d!))).toBe(false);
    await importAnswer(r.vault, reopened, answer, r.now(), r.log);
    expect(r.vault.findToken('firma')).toBeDefined();
  });
});
