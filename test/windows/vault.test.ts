/** The vault from the Windows executable: created by one process, reopened by the next. */
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
  });
});
