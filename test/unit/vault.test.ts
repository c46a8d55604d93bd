import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { openDatabase } from '../../native-host/src/vault/sqlite.js';
import { describe, expect, it } from 'vitest';
import { AppError } from '#shared/index.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { newLeaseOwner } from '../../native-host/src/vault/lease-owner.js';
import { tempPaths } from '../helpers/temp.js';

const env = { ANAF_TOKEN_KEYSTORE: 'file' };
const SECRET = 'client-secret-value-9f3a1c';
const ACCESS = 'access-token-value-7d2e9b0c';
const REFRESH = 'refresh-token-value-51aa7e3f';

function seeded() {
  const paths = tempPaths('vault');
  const vault = Vault.open({ paths, env });
  vault.saveProfile(
    { name: 'firma', clientId: 'cid', clientSecret: SECRET, redirectUri: 'https://erp.example.ro/cb', env: 'prod', refreshWindowDays: 14 },
    'create',
  );
  vault.saveTokens(
    'firma',
    { accessToken: ACCESS, refreshToken: REFRESH, accessExpiresAt: Date.now() + 90 * 86400000, refreshExpiresAt: Date.now() + 365 * 86400000 },
    { kind: 'authorization', certificate: { subject: 'CN=POPESCU ION' }, stateEchoed: true },
  );
  return { paths, vault };
}

describe('vault', () => {
  it('keeps secrets and tokens out of the files in plain text, and the files 0600', () => {
    const { paths, vault } = seeded();
    expect(vault.keyStore).toBe('file');
    vault.close();
    for (const f of [paths.vaultFile, paths.keyFile]) {
      const bytes = fs.readFileSync(f);
      for (const s of [SECRET, ACCESS, REFRESH]) {
        expect(bytes.includes(Buffer.from(s))).toBe(false);
        expect(bytes.toString('latin1').includes(Buffer.from(s).toString('base64').slice(0, 16))).toBe(false);
      }
      expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    }
    expect(fs.statSync(paths.dataDir).mode & 0o777).toBe(0o700);
  });

  it('lists profiles a page at a time, in name order, each with its own token and never a secret', () => {
    const { vault } = seeded();
    for (let i = 0; i < 150; i++) {
      const name = `p-${String(i).padStart(3, '0')}`;
      vault.saveProfile(
        { name, clientId: `c${i}`, clientSecret: SECRET, redirectUri: 'https://erp.example.ro/cb', env: 'prod', refreshWindowDays: 14 },
        'create',
      );
      if (i % 3 === 0) {
        vault.saveTokens(
          name,
          { accessToken: `${ACCESS}-${i}`, refreshToken: REFRESH, accessExpiresAt: 1000 + i, refreshExpiresAt: 2000 + i },
          { kind: 'authorization', certificate: {}, stateEchoed: true },
        );
      }
    }
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const page = vault.profilePage(after, 64);
      if (page.length === 0) break;
      pages++;
      for (const { profile, token } of page) {
        seen.push(profile.name);
        expect(JSON.stringify(profile)).not.toContain(SECRET);
        if (profile.name === 'firma') continue;
        const i = Number(profile.name.slice(2));
        expect(token?.accessExpiresAt).toBe(i % 3 === 0 ? 1000 + i : undefined);
      }
      after = page.at(-1)!.profile.name;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(vault.listProfiles().map((p) => p.name));
    expect(seen).toHaveLength(151);
  });

  it('reads back what it stored, from another connection too', () => {
    const { paths, vault } = seeded();
    const other = Vault.open({ paths, env });
    expect(other.clientSecret('firma')).toBe(SECRET);
    expect(other.readTokens('firma')).toMatchObject({ accessToken: ACCESS, refreshToken: REFRESH, generation: 1 });
    expect(other.findToken('firma')?.certificate.subject).toBe('CN=POPESCU ION');
    vault.close();
    other.close();
  });

  it('with a different key, seals and opens nothing: every sealed read or write is VAULT_LOCKED', () => {
    const { paths, vault } = seeded();
    vault.close();
    const rightKey = fs.readFileSync(paths.keyFile);
    fs.writeFileSync(paths.keyFile, Buffer.alloc(32, 7).toString('base64'));
    const locked = expect.objectContaining({ code: 'VAULT_LOCKED', detail: 'the key in the file does not open this vault' });
    const other = Vault.open({ paths, env });
    // The plain status columns read as before; the key is proven at its first use.
    expect(other.findToken('firma')?.accessExpiresAt).toBeGreaterThan(Date.now());
    expect(() => other.checkKey()).toThrowError(locked);
    expect(() => other.clientSecret('firma')).toThrowError(locked);
    expect(() => other.readTokens('firma')).toThrowError(locked);
    expect(() =>
      other.saveTokens('firma', { accessToken: 'x', refreshToken: 'y', accessExpiresAt: 1, refreshExpiresAt: 2 }, { kind: 'refresh', certificate: {} }),
    ).toThrowError(locked);
    expect(() =>
      other.saveProfile(
        { name: 'firma', clientId: 'cid', clientSecret: 'another-secret-1', redirectUri: 'https://erp.example.ro/cb', env: 'prod', refreshWindowDays: 14 },
        'upsert',
      ),
    ).toThrowError(locked);
    other.close();
    // Nothing was written with the wrong key: the right one still opens everything as it was.
    fs.writeFileSync(paths.keyFile, rightKey);
    const again = Vault.open({ paths, env });
    expect(again.clientSecret('firma')).toBe(SECRET);
    expect(again.readTokens('firma')).toMatchObject({ accessToken: ACCESS, refreshToken: REFRESH, generation: 1 });
    again.close();
  });

  it('does not open a sealed value moved to another row', () => {
    const { paths, vault } = seeded();
    vault.saveProfile(
      { name: 'other', clientId: 'x', clientSecret: 'other-secret-123', redirectUri: 'https://a.example/cb', env: 'test', refreshWindowDays: 14 },
      'create',
    );
    vault.close();
    const db = openDatabase(paths.vaultFile);
    db.prepare("UPDATE profiles SET secret = (SELECT secret FROM profiles WHERE name = 'firma') WHERE name = 'other'").run();
    db.close();
    const again = Vault.open({ paths, env });
    expect(() => again.clientSecret('other')).toThrowError(AppError);
    expect(again.clientSecret('firma')).toBe(SECRET);
    again.close();
  });

  it('gives a lease to one owner at a time and takes it back after expiry', () => {
    let now = 1_000_000;
    const paths = tempPaths('lease');
    const a = Vault.open({ paths, env, now: () => now });
    const b = Vault.open({ paths, env, now: () => now });
    expect(a.tryAcquireLease('refresh:x', 'A', 1000)).toBe(true);
    expect(b.tryAcquireLease('refresh:x', 'B', 1000)).toBe(false);
    now += 1001;
    expect(b.tryAcquireLease('refresh:x', 'B', 1000)).toBe(true);
    a.releaseLease('refresh:x', 'A'); // not A's any more: must not free B's lease
    expect(a.leaseActive('refresh:x')).toBe(true);
    a.close();
    b.close();
  });

  it('takes over at once a lease whose holder process is gone', () => {
    const paths = tempPaths('lease-dead');
    const v = Vault.open({ paths, env });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const deadOwner = `${os.hostname()}:${dead}:abcdef`;
    expect(v.tryAcquireLease('refresh:x', deadOwner, 60_000)).toBe(true);
    expect(v.leaseActive('refresh:x')).toBe(false);
    expect(v.tryAcquireLease('refresh:x', newLeaseOwner(), 60_000)).toBe(true);
    // A live holder keeps it.
    expect(v.tryAcquireLease('refresh:x', `${os.hostname()}:${process.pid}:123456`, 60_000)).toBe(false);
    v.close();
  });

  it('consumes a pending state once, only for its profile, only before it expires', () => {
    let now = 5_000_000;
    const { paths, vault } = seeded();
    vault.close();
    const v = Vault.open({ paths, env, now: () => now });
    v.addPendingAuthorization('s1', 'firma', 1000);
    expect(v.takePendingAuthorization('s1', 'other')).toBe(false);
    expect(v.takePendingAuthorization('s1', 'firma')).toBe(true);
    expect(v.takePendingAuthorization('s1', 'firma')).toBe(false);
    v.addPendingAuthorization('s2', 'firma', 1000);
    now += 1001;
    expect(v.takePendingAuthorization('s2', 'firma')).toBe(false);
    v.close();
  });

  it('matches an answer without state only to a single recent pending authorization', () => {
    const { vault } = seeded();
    const t0 = Date.now();
    vault.addPendingAuthorization('a', 'firma', 60_000);
    vault.addPendingAuthorization('b', 'firma', 60_000);
    expect(vault.takeOnlyRecentPending('firma', t0 - 1000)).toBe(false);
    expect(vault.takePendingAuthorization('b', 'firma')).toBe(true);
    expect(vault.takeOnlyRecentPending('firma', t0 - 1000)).toBe(true);
    expect(vault.takeOnlyRecentPending('firma', t0 - 1000)).toBe(false);
    vault.close();
  });

  it("lists what is due for refresh by each profile's window", () => {
    const { vault } = seeded();
    const now = Date.now();
    expect(vault.dueForRefresh(now)).toEqual([]);
    expect(vault.dueForRefresh(now + 77 * 86400000)).toEqual(['firma']);
    vault.markDead('firma', 'invalid_grant');
    expect(vault.dueForRefresh(now + 77 * 86400000)).toEqual([]);
    vault.close();
  });
});
