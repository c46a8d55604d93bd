/**
 * `anaf-token request …` as a user runs it: separate processes of the built CLI, one data folder.
 * The holder's part is played with the shared code the extension runs (the browser run is the e2e).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequestLink, openSecret, sealAnswer } from '#shared/request/crypto.js';
import { runCli } from '../helpers/cli.js';
import { readQrPng } from '../helpers/qr.js';
import { tempDir } from '../helpers/temp.js';

const SECRET = `cli-req-secret-${Math.random().toString(36).slice(2)}`;
let home: string;
let out: string;
const cli = (args: string[], input?: string) => runCli(args, { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file' }, input);

async function answerFor(link: string, passphrase?: string): Promise<{ answer: string; access: string }> {
  const req = await checkRequestLink(link, Date.now());
  expect(await openSecret(req, passphrase)).toBe(SECRET);
  const key = new TextEncoder().encode('k'.repeat(32));
  const exp = Math.floor(Date.now() / 1000) + 90 * 86_400;
  const access = await new SignJWT({ serial: '0a:0b:0c:0d', issuer: 'CLI Test CA' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(key);
  const refresh = await new SignJWT({ serial: '0a:0b:0c:0d' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(exp + 275 * 86_400)
    .sign(key);
  return {
    answer: await sealAnswer(req.body, req.body.st, { access_token: access, refresh_token: refresh, expires_in: 7_776_000, token_type: 'Bearer' }, Date.now()),
    access,
  };
}

describe('anaf-token request (CLI)', () => {
  beforeAll(async () => {
    home = tempDir('request-cli');
    out = tempDir('request-cli-out');
    const r = await cli(
      ['profile', 'add', '--name', 'firma', '--client-id', 'cid-1', '--redirect-uri', 'https://erp.example.ro/cb', '--env', 'https://127.0.0.1:9'],
      `${SECRET}\n`,
    );
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('create --json → { id, link, file, qr, expiresAt }; import FILE stores the token and names the certificate; a replay is refused', async () => {
    const r = await cli(['request', 'create', '--profile', 'firma', '--valid', '2h', '--note', 'Ana', '--json', '--out', path.join(out, 'a.txt')]);
    expect(r.code, r.stderr).toBe(0);
    const made = JSON.parse(r.stdout) as { id: string; link: string; file: string; qr: string; expiresAt: string };
    expect(Object.keys(made).sort()).toEqual(['expiresAt', 'file', 'id', 'link', 'qr']);
    expect(made.file).toBe(path.join(out, 'a.txt'));
    expect(fs.readFileSync(made.file, 'utf8')).toBe(`${made.link}\n`);
    expect(fs.statSync(made.file).mode & 0o777).toBe(0o600);
    const png = fs.readFileSync(made.qr);
    expect(readQrPng(png)).toBe(made.link);
    expect(fs.statSync(made.qr).mode & 0o777).toBe(0o600);
    expect(Math.abs(Date.parse(made.expiresAt) - Date.now() - 2 * 3_600_000)).toBeLessThan(60_000);
    expect(r.stdout + r.stderr).not.toContain(SECRET);

    const listed = JSON.parse((await cli(['request', 'list', '--json'])).stdout) as { id: string; status: string; note?: string }[];
    expect(listed).toEqual([expect.objectContaining({ id: made.id, status: 'pending', note: 'Ana' })]);

    const { answer, access } = await answerFor(made.link);
    fs.writeFileSync(path.join(out, 'answer.txt'), `${answer}\n`);
    const imported = await cli(['request', 'import', path.join(out, 'answer.txt')]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('0A0B0C0D (CLI Test CA)');
    const token = await cli(['token', '--profile', 'firma']);
    expect(token.stdout.trim()).toBe(access);

    const replay = await cli(['request', 'import', '-', '--json'], answer);
    expect(replay.code).toBe(6);
    expect((JSON.parse(replay.stdout) as { error: { code: string } }).error.code).toBe('REQUEST_USED');
  });

  it('--passphrase is read from standard input, never argv; cancel refuses the answer; unknown ids and bad --valid are usage errors', async () => {
    const r = await cli(['request', 'create', '--profile', 'firma', '--passphrase', '--json', '--out', path.join(out, 'b.txt')], 'mar-7-pere\n');
    expect(r.code, r.stderr).toBe(0);
    const made = JSON.parse(r.stdout) as { id: string; link: string };
    expect((await checkRequestLink(made.link, Date.now())).needsPassphrase).toBe(true);
    const { answer } = await answerFor(made.link, 'mar-7-pere');
    expect((await cli(['request', 'cancel', made.id])).code).toBe(0);
    const refused = await cli(['request', 'import', '-', '--json'], answer);
    expect((JSON.parse(refused.stdout) as { error: { code: string } }).error.code).toBe('REQUEST_CANCELLED');

    const unknown = await cli(['request', 'cancel', 'A'.repeat(22), '--json']);
    expect(unknown.code).toBe(3);
    expect((await cli(['request', 'create', '--profile', 'firma', '--valid', '5d'])).code).toBe(2);
    const notAnswer = await cli(['request', 'import', '-', '--json'], 'hello');
    expect((JSON.parse(notAnswer.stdout) as { error: { code: string } }).error.code).toBe('REQUEST_TAMPERED');
  });
});
