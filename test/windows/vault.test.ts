/** The vault from the Windows executable: created by one process, reopened by the next; its key wrapped by DPAPI. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { installed, wine, winPath } from './wine.js';

describe('vault through anaf-token.exe (wine)', () => {
  it('creates the vault with a profile, and a second process reads it back', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-vault-'));
    const env = { ANAF_TOKEN_HOME: winPath(dir) };
    const add = wine(
      installed('anaf-token.exe'),
      ['profile', 'add', '--name', 'firma', '--client-id', 'client-1234', '--redirect-uri', 'https://erp.example.ro/anaf/callback', '--json'],
      { stdin: 'secret-of-the-client\n', env },
    );
    expect(add.stderr + add.text).not.toMatch(/error/i);
    expect(add.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'vault.sqlite'))).toBe(true);
    const list = wine(installed('anaf-token.exe'), ['profile', 'list', '--json'], { env });
    expect(list.code).toBe(0);
    const profiles = JSON.parse(list.text) as { name: string; clientId: string }[];
    expect(profiles.map((p) => [p.name, p.clientId])).toEqual([['firma', 'client-1234']]);
    // The secret is stored, never listed.
    expect(list.text).not.toContain('secret-of-the-client');

    // The key is kept wrapped by DPAPI for this Windows user, never in clear.
    const keyFile = fs.readFileSync(path.join(dir, 'vault.key'), 'utf8');
    expect(keyFile.startsWith('dpapi:')).toBe(true);
    const wrapped = Buffer.from(keyFile.slice('dpapi:'.length).trim(), 'base64');
    expect(wrapped.length).toBeGreaterThan(100);
    expect(wrapped.toString('latin1')).not.toMatch(/anaf-token-key:/);
    const doctor = wine(installed('anaf-token.exe'), ['doctor', '--json'], { env });
    const vault = (JSON.parse(doctor.text) as { findings: { check: string; status: string; message: string }[] }).findings.find((f) => f.check === 'vault');
    expect(vault?.status).toBe('ok');
    expect(vault?.message).toMatch(/wrapped by Windows \(DPAPI\)/);

    // A damaged wrap is an error, never a new key that would orphan the vault.
    fs.writeFileSync(path.join(dir, 'vault.key'), `dpapi:${Buffer.from(wrapped.map((b, i) => (i === 40 ? b ^ 1 : b))).toString('base64')}\n`);
    const broken = wine(installed('anaf-token.exe'), ['profile', 'list', '--json'], { env });
    expect(broken.code).not.toBe(0);
    expect(broken.text + broken.stderr).toMatch(/VAULT|key/i);
  });
});
