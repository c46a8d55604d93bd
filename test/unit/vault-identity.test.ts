/**
 * A profile's client secret and tokens are sealed bound to its identity: name, OAuth server
 * (env), client ID and callback URL. Someone who can write the vault file but has no key cannot
 * send them to another server by editing those plain columns; changing them through anaf-token
 * needs the secret again and drops the tokens. Vaults sealed the old way are migrated once, and
 * never go back.
 */
import fs from 'node:fs';
import { asBuffer, firstValue, openDatabase, type DatabaseSync } from '../../native-host/src/vault/sqlite.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../native-host/src/log/logger.js';
import { App } from '../../native-host/src/app.js';
import { handlers } from '../../native-host/src/native/handlers.js';
import { checkToken } from '../../native-host/src/tokens/check-token.js';
import { refreshDue, refreshProfile } from '../../native-host/src/tokens/refresh.js';
import { validAccessToken } from '../../native-host/src/tokens/grant.js';
import { open, seal } from '../../native-host/src/vault/crypto.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { decodeKeyRecord, encodeKeyRecord, verifiedFloor } from '../../native-host/src/vault/key-record.js';
import { fileKeyStore } from '../../native-host/src/vault/key-store.js';
import type { Paths } from '../../native-host/src/config/paths.js';
import { tempPaths } from '../helpers/temp.js';

const env = { ANAF_TOKEN_KEYSTORE: 'file' };
const DAY = 86_400_000;
const SECRET = 'client-secret-value-9f3a1c';
const ACCESS = 'access-token-value-7d2e9b0c';
const REFRESH = 'refresh-token-value-51aa7e3f';
const FIRMA = { name: 'firma', clientId: 'cid', redirectUri: 'https://erp.example.ro/cb', env: 'https://anaf.example.ro', refreshWindowDays: 14 } as const;
const KEY_CHECK_PLAINTEXT = 'anaf-token vault key check';

function seeded(accessDays = 90) {
  const paths = tempPaths('vault-aad');
  const vault = Vault.open({ paths, env });
  vault.saveProfile({ ...FIRMA, clientSecret: SECRET }, 'create');
  vault.saveTokens(
    'firma',
    { accessToken: ACCESS, refreshToken: REFRESH, accessExpiresAt: Date.now() + accessDays * DAY, refreshExpiresAt: Date.now() + 365 * DAY },
    { kind: 'authorization', certificate: { subject: 'CN=POPESCU ION' }, stateEchoed: true },
  );
  return { paths, vault };
}

/** Writes to the vault file as someone without the key would: plain SQL. */
function withDb<T>(paths: Paths, fn: (db: DatabaseSync) => T): T {
  const db = openDatabase(paths.vaultFile);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The key from the key file: plain base64 (older builds, floor 1) or `anaf-token-key:<floor>:<base64>:<tag>`. */
const keyOf = (paths: Paths) => {
  const text = fs.readFileSync(paths.keyFile, 'utf8').trim();
  return Buffer.from(text.startsWith('anaf-token-key:') ? text.split(':')[2]! : text, 'base64');
};
const keyFileText = (paths: Paths) => fs.readFileSync(paths.keyFile, 'utf8');
const keyCheckOf = (paths: Paths) =>
  Buffer.from(
    withDb(paths, (db) => firstValue(db.prepare("SELECT v FROM meta WHERE k = 'key_check'")) as string),
    'base64',
  );
const opensUnder = (key: Buffer, sealed: Buffer, aad: string) => {
  try {
    open(key, sealed, aad);
    return true;
  } catch {
    return false;
  }
};

/**
 * A vault as the builds before identity binding wrote it: every value sealed under the old
 * associated data (spelled out here, not taken from the code under test), schema version 1, and
 * its key file as they wrote it (the key in base64, nothing else).
 */
function sealTheOldWay(paths: Paths, profiles: string[]): void {
  const key = keyOf(paths);
  fs.writeFileSync(paths.keyFile, `${key.toString('base64')}\n`, { mode: 0o600 });
  withDb(paths, (db) => {
    db.prepare("UPDATE meta SET v = ? WHERE k = 'key_check'").run(seal(key, KEY_CHECK_PLAINTEXT, 'meta:key_check').toString('base64'));
    db.prepare("UPDATE meta SET v = '1' WHERE k = 'schema_version'").run();
    for (const name of profiles) {
      db.prepare('UPDATE profiles SET secret = ? WHERE name = ?').run(seal(key, `${SECRET}-${name}`, `profiles:${name}:secret`), name);
      db.prepare('UPDATE tokens SET access = ?, refresh = ? WHERE profile = ?').run(
        seal(key, `${ACCESS}-${name}`, `tokens:${name}:access`),
        seal(key, `${REFRESH}-${name}`, `tokens:${name}:refresh`),
        name,
      );
    }
  });
}

const altered = expect.objectContaining({ code: 'PROFILE_ALTERED' });

afterEach(() => {
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
});

describe('vault identity binding', () => {
  for (const [column, value] of [
    ['env', 'https://evil.example'],
    ['env', 'test'],
    ['client_id', 'another-client'],
    ['redirect_uri', 'https://evil.example/cb'],
  ] as const) {
    it(`does not open the secret or the tokens of a profile whose ${column} was changed in the file (${value})`, () => {
      const { paths, vault } = seeded();
      vault.close();
      const before = withDb(paths, (db) => firstValue(db.prepare(`SELECT ${column} FROM profiles WHERE name = 'firma'`)) as string);
      withDb(paths, (db) => db.prepare(`UPDATE profiles SET ${column} = ? WHERE name = 'firma'`).run(value));
      const v = Vault.open({ paths, env });
      expect(() => v.checkKey()).not.toThrow(); // the key is right: only this profile is refused
      expect(() => v.clientSecret('firma')).toThrowError(altered);
      expect(() => v.readTokens('firma')).toThrowError(altered);
      expect(() => v.clientSecret(v.getProfile('firma'))).toThrowError(altered);
      expect(() => v.readTokens(v.getProfile('firma'))).toThrowError(altered);
      // Asked for the profile it was saved with, it opens: what is bound is the identity.
      expect(v.clientSecret({ ...FIRMA })).toBe(SECRET);
      expect(v.readTokens({ ...FIRMA })).toMatchObject({ accessToken: ACCESS, refreshToken: REFRESH });
      v.close();
      withDb(paths, (db) => db.prepare(`UPDATE profiles SET ${column} = ? WHERE name = 'firma'`).run(before));
      const back = Vault.open({ paths, env });
      expect(back.clientSecret('firma')).toBe(SECRET);
      expect(back.readTokens('firma')).toMatchObject({ accessToken: ACCESS, refreshToken: REFRESH });
      back.close();
    });
  }

  it('keeps the refresh window and the status columns plain: changing them opens everything as before', () => {
    const { paths, vault } = seeded();
    vault.close();
    withDb(paths, (db) => {
      db.prepare("UPDATE profiles SET refresh_window_days = 30, client_auth = 'post' WHERE name = 'firma'").run();
      db.prepare("UPDATE tokens SET access_expires_at = 1, cert_subject = 'CN=X', last_error = 'e' WHERE profile = 'firma'").run();
    });
    const v = Vault.open({ paths, env });
    expect(v.getProfile('firma').refreshWindowDays).toBe(30);
    expect(v.clientSecret('firma')).toBe(SECRET);
    expect(v.readTokens('firma')).toMatchObject({ accessToken: ACCESS, refreshToken: REFRESH });
    v.close();
  });

  it('sends nothing anywhere for an altered profile: refresh, refresh of all due, token hand-out, check', async () => {
    const { paths, vault } = seeded(3); // due for refresh
    vault.close();
    withDb(paths, (db) => db.prepare("UPDATE profiles SET env = 'https://evil.example' WHERE name = 'firma'").run());
    const fetch = vi.fn(async () => new Response('{}', { status: 500 }));
    vi.stubGlobal('fetch', fetch);
    const v = Vault.open({ paths, env });
    const deps = { store: v, log: createLogger({ component: 'test', file: paths.logFile }) };
    await expect(refreshProfile(deps, 'firma', { force: true })).rejects.toMatchObject({ code: 'PROFILE_ALTERED' });
    await expect(validAccessToken(deps, 'firma')).rejects.toMatchObject({ code: 'PROFILE_ALTERED' });
    expect(await refreshDue(deps)).toEqual([
      expect.objectContaining({ profile: 'firma', outcome: 'failed', error: expect.objectContaining({ code: 'PROFILE_ALTERED' }) }),
    ]);
    await expect(checkToken(deps, 'firma', { fetch })).rejects.toMatchObject({ code: 'PROFILE_ALTERED' });
    expect(fetch).not.toHaveBeenCalled();
    // Not recorded as a failure of the grant: the token row is as it was.
    expect(v.findToken('firma')).toMatchObject({ lastError: undefined, deadReason: undefined, generation: 1 });
    v.close();
  });

  it('does not keep tokens obtained for a profile whose identity changed meanwhile', () => {
    const { vault } = seeded();
    const asked = vault.getProfile('firma');
    vault.saveProfile({ ...FIRMA, env: 'test', clientSecret: SECRET }, 'upsert');
    expect(() =>
      vault.saveTokens(
        asked,
        { accessToken: 'new-access', refreshToken: 'new-refresh', accessExpiresAt: Date.now() + DAY, refreshExpiresAt: undefined },
        { kind: 'refresh', certificate: {} },
      ),
    ).toThrowError(expect.objectContaining({ code: 'NO_TOKEN' }));
    expect(vault.findToken('firma')).toBeUndefined();
    vault.close();
  });
});

describe('saving a profile', () => {
  it('needs the secret again to change the server, client ID or callback URL, and then drops the tokens', () => {
    const { vault } = seeded();
    for (const change of [{ env: 'https://evil.example' }, { clientId: 'other' }, { redirectUri: 'https://evil.example/cb' }]) {
      expect(() => vault.saveProfile({ ...FIRMA, ...change }, 'upsert')).toThrowError(
        expect.objectContaining({ code: 'SECRET_MISSING', detail: expect.stringContaining('needs its client secret again') }),
      );
    }
    // Refused: nothing changed.
    expect(vault.getProfile('firma')).toEqual(FIRMA);
    expect(vault.readTokens('firma')).toMatchObject({ accessToken: ACCESS });

    vault.addPendingAuthorization('state-1', 'firma', 60_000);
    vault.setClientAuthMethod('firma', 'basic');
    const saved = vault.saveProfile({ ...FIRMA, env: 'test', clientSecret: 'new-secret-1' }, 'upsert');
    expect(saved).toEqual({ profile: { ...FIRMA, env: 'test' }, tokensDropped: true });
    expect(vault.findToken('firma')).toBeUndefined();
    expect(vault.readTokens('firma')).toBeUndefined();
    expect(vault.clientSecret('firma')).toBe('new-secret-1');
    expect(vault.takePendingAuthorization('state-1', 'firma')).toBe(false); // started for the old server
    expect(vault.clientAuthMethod('firma')).toBeUndefined();
    vault.close();
  });

  it('keeps the secret and the tokens when only the refresh window changes, or the secret alone', () => {
    const { vault } = seeded();
    expect(vault.saveProfile({ ...FIRMA, refreshWindowDays: 30 }, 'upsert')).toEqual({ profile: { ...FIRMA, refreshWindowDays: 30 }, tokensDropped: false });
    expect(vault.clientSecret('firma')).toBe(SECRET);
    expect(vault.readTokens('firma')).toMatchObject({ accessToken: ACCESS, refreshToken: REFRESH, generation: 1 });
    expect(vault.saveProfile({ ...FIRMA, clientSecret: 'rotated-secret' }, 'upsert').tokensDropped).toBe(false);
    expect(vault.clientSecret('firma')).toBe('rotated-secret');
    expect(vault.readTokens('firma')).toMatchObject({ accessToken: ACCESS, refreshToken: REFRESH, generation: 1 });
    vault.close();
  });

  it('refuses to keep the secret of a profile altered in the file; saved again with it, drops the tokens that no longer open', () => {
    const { paths, vault } = seeded();
    vault.close();
    withDb(paths, (db) => db.prepare("UPDATE profiles SET env = 'https://evil.example' WHERE name = 'firma'").run());
    const v = Vault.open({ paths, env });
    // The form shows what the file says: saving that without the secret is refused.
    expect(() => v.saveProfile({ ...FIRMA, env: 'https://evil.example' }, 'upsert')).toThrowError(altered);
    // Back to the real server without the secret: a change from what is stored, so the secret is asked for.
    expect(() => v.saveProfile({ ...FIRMA }, 'upsert')).toThrowError(expect.objectContaining({ code: 'SECRET_MISSING' }));
    expect(v.saveProfile({ ...FIRMA, clientSecret: SECRET }, 'upsert').tokensDropped).toBe(true);
    expect(v.clientSecret('firma')).toBe(SECRET);
    v.close();
  });

  it('over native messaging (profile.save): refuses a server change without the secret; with it, drops the tokens and says so in the log', async () => {
    const { paths, vault } = seeded();
    vault.close();
    vi.stubEnv('ANAF_TOKEN_KEYSTORE', 'file');
    const app = new App({ paths, log: createLogger({ component: 'test', file: paths.logFile }) });
    const req = { id: '1', type: 'profile.save' as const, name: 'firma', clientId: FIRMA.clientId, redirectUri: FIRMA.redirectUri };
    await expect(handlers['profile.save'](app, { ...req, env: 'https://evil.example' })).rejects.toMatchObject({ code: 'SECRET_MISSING' });
    expect(await app.store.readTokens('firma')).toMatchObject({ accessToken: ACCESS });

    // Only the refresh window: the token stays.
    expect(await handlers['profile.save'](app, { ...req, env: FIRMA.env, refreshWindowDays: 20 })).toMatchObject({
      state: 'valid',
      profile: { refreshWindowDays: 20 },
    });
    expect(await app.store.readTokens('firma')).toMatchObject({ accessToken: ACCESS });

    const moved = await handlers['profile.save'](app, { ...req, env: 'test', clientSecret: 'new-secret-2' });
    expect(moved).toMatchObject({ state: 'none', profile: { env: 'test', refreshWindowDays: 20 } });
    expect(await app.store.findToken('firma')).toBeUndefined();
    await app.close();
    const log = fs.readFileSync(paths.logFile, 'utf8');
    expect(log).toContain('profile.tokens-dropped');
    expect(log).toContain('a new authorization with the USB key is needed');
    expect(log).not.toContain('new-secret-2');
  });
});

describe('ERP client keys bound to their rights', () => {
  it('a scope widened or a personal-ID right granted in the file leaves the key unreadable; an unscoped key from an older build still opens', () => {
    const { paths, vault } = seeded();
    vault.addApiClient('scoped', 'k-scoped', { profiles: ['firma'] });
    vault.addApiClient('plain', 'k-plain');
    vault.addApiClient('legacy', 'k-legacy');
    expect(vault.apiClientKey('scoped')).toMatchObject({ state: 'ok', profiles: ['firma'] });
    vault.close();
    // What a build before the rights were bound wrote: sealed under the row name alone.
    const key = fileKeyStore(paths.keyFile).readRecord()!.key;
    withDb(paths, (db) => {
      db.prepare('UPDATE api_clients SET profiles = \'["firma","other"]\' WHERE name = \'scoped\'').run();
      db.prepare("UPDATE api_clients SET personal_id = 1 WHERE name = 'plain'").run();
      db.prepare("UPDATE api_clients SET key_sealed = ? WHERE name = 'legacy'").run(seal(key, 'k-legacy', 'api_clients:legacy:key'));
    });
    const v = Vault.open({ paths, env });
    expect(v.apiClientKey('scoped')).toMatchObject({ state: 'unreadable', key: undefined });
    expect(v.apiClientKey('plain')).toMatchObject({ state: 'unreadable', key: undefined });
    expect(v.apiClientKey('legacy')).toMatchObject({ state: 'ok', profiles: undefined });
    expect(v.apiClientKey('legacy')!.key!.toString()).toBe('k-legacy');
    v.close();
    // The old sealing opens only without a scope: given one in the file, it is refused too.
    withDb(paths, (db) => db.prepare("UPDATE api_clients SET profiles = '[\"firma\"]' WHERE name = 'legacy'").run());
    const w = Vault.open({ paths, env });
    expect(w.apiClientKey('legacy')).toMatchObject({ state: 'unreadable' });
    w.close();
  });
});

describe('migrating a vault sealed before identity binding', () => {
  it('re-seals every secret and token once, at the first use of the key, and the check value last', () => {
    const { paths, vault } = seeded();
    vault.saveProfile({ ...FIRMA, name: 'b', env: 'test', clientSecret: SECRET }, 'create');
    vault.saveTokens(
      'b',
      { accessToken: 'x', refreshToken: undefined, accessExpiresAt: 1, refreshExpiresAt: undefined },
      { kind: 'authorization', certificate: {}, stateEchoed: true },
    );
    vault.saveProfile({ ...FIRMA, name: 'no-token', clientSecret: SECRET }, 'create');
    vault.close();
    sealTheOldWay(paths, ['firma', 'b', 'no-token']);
    // 'b' has no refresh token: keep it so.
    withDb(paths, (db) => db.prepare("UPDATE tokens SET refresh = NULL WHERE profile = 'b'").run());
    const key = keyOf(paths);
    const sealedBefore = withDb(paths, (db) => asBuffer(firstValue(db.prepare("SELECT secret FROM profiles WHERE name = 'firma'")) as Uint8Array));

    const v = Vault.open({ paths, env });
    // Opening and status reads touch no sealed value: nothing migrated yet.
    expect(v.findToken('firma')?.generation).toBe(1);
    expect(opensUnder(key, keyCheckOf(paths), 'meta:key_check')).toBe(true);
    expect(withDb(paths, (db) => firstValue(db.prepare("SELECT v FROM meta WHERE k = 'schema_version'")))).toBe('2');

    expect(v.clientSecret('firma')).toBe(`${SECRET}-firma`);
    // Migrated: the check value opens only under the new associated data; every value too.
    const check = keyCheckOf(paths);
    expect(opensUnder(key, check, 'meta:key_check:v2')).toBe(true);
    expect(opensUnder(key, check, 'meta:key_check')).toBe(false);
    const sealedAfter = withDb(paths, (db) => asBuffer(firstValue(db.prepare("SELECT secret FROM profiles WHERE name = 'firma'")) as Uint8Array));
    expect(sealedAfter.equals(sealedBefore)).toBe(false);
    expect(opensUnder(key, sealedAfter, 'profiles:firma:secret')).toBe(false);
    expect(v.readTokens('firma')).toMatchObject({ accessToken: `${ACCESS}-firma`, refreshToken: `${REFRESH}-firma`, generation: 1 });
    expect(v.readTokens('b')).toMatchObject({ accessToken: `${ACCESS}-b`, refreshToken: undefined });
    expect(v.clientSecret('no-token')).toBe(`${SECRET}-no-token`);
    expect(v.findToken('firma')).toMatchObject({ generation: 1, certificate: { subject: 'CN=POPESCU ION' } });
    v.close();

    // And bound: the migrated values refuse an altered profile like new ones.
    withDb(paths, (db) => db.prepare("UPDATE profiles SET env = 'https://evil.example' WHERE name = 'firma'").run());
    const again = Vault.open({ paths, env });
    expect(() => again.clientSecret('firma')).toThrowError(altered);
    expect(() => again.readTokens('firma')).toThrowError(altered);
    expect(again.clientSecret('b')).toBe(`${SECRET}-b`);
    again.close();
  });

  it('migrates once with several connections: the one that comes second finds it done', () => {
    const { paths, vault } = seeded();
    vault.close();
    sealTheOldWay(paths, ['firma']);
    const a = Vault.open({ paths, env });
    const b = Vault.open({ paths, env });
    expect(a.readTokens('firma')).toMatchObject({ accessToken: `${ACCESS}-firma` });
    const migrated = keyCheckOf(paths);
    // b still holds the old check value it read at open: it must not re-seal (or fail) again.
    expect(b.clientSecret('firma')).toBe(`${SECRET}-firma`);
    expect(b.readTokens('firma')).toMatchObject({ refreshToken: `${REFRESH}-firma` });
    expect(keyCheckOf(paths).equals(migrated)).toBe(true);
    a.close();
    b.close();
  });

  it('a migration inside a transaction that rolls back is undone with it, and done again later', () => {
    const { paths, vault } = seeded();
    vault.close();
    sealTheOldWay(paths, ['firma']);
    const key = keyOf(paths);
    const v = Vault.open({ paths, env });
    expect(() =>
      v.batch(() => {
        expect(v.clientSecret('firma')).toBe(`${SECRET}-firma`);
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(opensUnder(key, keyCheckOf(paths), 'meta:key_check')).toBe(true);
    expect(v.clientSecret('firma')).toBe(`${SECRET}-firma`);
    expect(v.readTokens('firma')).toMatchObject({ accessToken: `${ACCESS}-firma` });
    expect(opensUnder(key, keyCheckOf(paths), 'meta:key_check:v2')).toBe(true);
    v.close();
  });

  it('with a wrong key, migrates nothing', () => {
    const { paths, vault } = seeded();
    vault.close();
    sealTheOldWay(paths, ['firma']);
    const rightKey = fs.readFileSync(paths.keyFile);
    const sealed = () => withDb(paths, (db) => asBuffer(firstValue(db.prepare("SELECT secret FROM profiles WHERE name = 'firma'")) as Uint8Array));
    const before = sealed();
    fs.writeFileSync(paths.keyFile, Buffer.alloc(32, 7).toString('base64'));
    const v = Vault.open({ paths, env });
    expect(() => v.clientSecret('firma')).toThrowError(expect.objectContaining({ code: 'VAULT_LOCKED' }));
    v.close();
    fs.writeFileSync(paths.keyFile, rightKey);
    expect(opensUnder(keyOf(paths), keyCheckOf(paths), 'meta:key_check')).toBe(true);
    expect(sealed().equals(before)).toBe(true);
    const right = Vault.open({ paths, env });
    expect(right.clientSecret('firma')).toBe(`${SECRET}-firma`);
    right.close();
  });

  it('never accepts the old associated data again, whatever plain marker is reset', () => {
    const { paths, vault } = seeded();
    vault.close();
    sealTheOldWay(paths, ['firma']);
    const first = Vault.open({ paths, env });
    expect(first.clientSecret('firma')).toBe(`${SECRET}-firma`); // migrated
    first.close();
    const key = keyOf(paths);
    // Someone puts values sealed the old way back (as an older copy of this vault has them) and
    // resets every plain marker a build could go by.
    withDb(paths, (db) => {
      db.prepare("UPDATE profiles SET secret = ?, env = 'https://evil.example' WHERE name = 'firma'").run(seal(key, 'old-secret', 'profiles:firma:secret'));
      db.prepare("UPDATE tokens SET access = ?, refresh = ? WHERE profile = 'firma'").run(
        seal(key, 'old-access', 'tokens:firma:access'),
        seal(key, 'old-refresh', 'tokens:firma:refresh'),
      );
      db.prepare("UPDATE meta SET v = '1' WHERE k = 'schema_version'").run();
      db.prepare("DELETE FROM meta WHERE k IN ('schema_sql', 'aad_version', 'migrated')").run();
    });
    const v = Vault.open({ paths, env });
    expect(() => v.clientSecret('firma')).toThrowError(altered);
    expect(() => v.readTokens('firma')).toThrowError(altered);
    v.close();
    expect(opensUnder(key, keyCheckOf(paths), 'meta:key_check:v2')).toBe(true);

    // Without the key the check value cannot be sealed the old way: garbage or none is a wrong key.
    for (const value of [Buffer.alloc(45, 1).toString('base64'), '']) {
      withDb(paths, (db) => db.prepare("UPDATE meta SET v = ? WHERE k = 'key_check'").run(value));
      const w = Vault.open({ paths, env });
      expect(() => w.clientSecret('firma')).toThrowError(expect.objectContaining({ code: 'VAULT_LOCKED' }));
      w.close();
    }
    withDb(paths, (db) => db.prepare("DELETE FROM meta WHERE k = 'key_check'").run());
    const none = Vault.open({ paths, env });
    expect(() => none.clientSecret('firma')).toThrowError(expect.objectContaining({ code: 'VAULT_LOCKED' }));
    none.close();
  });

  it('a new vault starts with the new check value', () => {
    const { paths, vault } = seeded();
    vault.close();
    const key = keyOf(paths);
    expect(opensUnder(key, keyCheckOf(paths), 'meta:key_check:v2')).toBe(true);
    expect(opensUnder(key, keyCheckOf(paths), 'meta:key_check')).toBe(false);
  });
});

describe('a copy of the vault from before its migration, put back afterwards', () => {
  /** The vault file alone, as a backup or another program holds it (the WAL is folded in at close). */
  const copyOf = (paths: Paths) => fs.readFileSync(paths.vaultFile);
  function putBack(paths: Paths, copy: Buffer): void {
    for (const f of [`${paths.vaultFile}-wal`, `${paths.vaultFile}-shm`]) fs.rmSync(f, { force: true });
    fs.writeFileSync(paths.vaultFile, copy);
  }
  const rolledBack = expect.objectContaining({ code: 'VAULT_ROLLED_BACK' });

  /** An old vault, its copy taken before the migration, then migrated by a first use. */
  function migratedWithOldCopy() {
    const { paths, vault } = seeded();
    vault.close();
    sealTheOldWay(paths, ['firma']);
    const oldKeyFile = keyFileText(paths);
    expect(oldKeyFile).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const copy = copyOf(paths);
    const v = Vault.open({ paths, env });
    expect(v.clientSecret('firma')).toBe(`${SECRET}-firma`); // migrated
    v.close();
    return { paths, copy, oldKeyFile, key: keyOf(paths) };
  }

  it('records the migration with the key, outside the vault file: the key file now says schema 2, with the same key', () => {
    const { paths, key } = migratedWithOldCopy();
    const text = keyFileText(paths);
    expect(text).toMatch(/^anaf-token-key:2:[A-Za-z0-9+/]{43}=:[A-Za-z0-9_-]{22}\n$/);
    expect(keyOf(paths).equals(key)).toBe(true);
    expect(fs.statSync(paths.keyFile).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(paths.dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // A new vault's key starts there.
    const fresh = seeded();
    fresh.vault.close();
    expect(keyFileText(fresh.paths)).toMatch(/^anaf-token-key:2:/);
  });

  it('is refused (VAULT_ROLLED_BACK), not migrated again, even with its server changed in the file', () => {
    const { paths, copy, key } = migratedWithOldCopy();
    putBack(paths, copy);
    // The old copy bound nothing to the server: whoever put it back may have changed it.
    withDb(paths, (db) => db.prepare("UPDATE profiles SET env = 'https://evil.example' WHERE name = 'firma'").run());
    const sealedBefore = withDb(paths, (db) => asBuffer(firstValue(db.prepare("SELECT secret FROM profiles WHERE name = 'firma'")) as Uint8Array));
    const v = Vault.open({ paths, env });
    expect(() => v.clientSecret('firma')).toThrowError(rolledBack);
    expect(() => v.readTokens('firma')).toThrowError(rolledBack);
    expect(() => v.checkKey()).toThrowError(rolledBack);
    expect(() => v.saveProfile({ ...FIRMA, name: 'new', clientSecret: SECRET }, 'create')).toThrowError(rolledBack);
    v.close();
    // Nothing was re-sealed: the copy still holds its old check value and its old sealed secret.
    expect(opensUnder(key, keyCheckOf(paths), 'meta:key_check')).toBe(true);
    const sealedAfter = withDb(paths, (db) => asBuffer(firstValue(db.prepare("SELECT secret FROM profiles WHERE name = 'firma'")) as Uint8Array));
    expect(sealedAfter.equals(sealedBefore)).toBe(true);
    // And the refusal says what to do, in both languages.
    const err = (() => {
      const w = Vault.open({ paths, env });
      try {
        w.checkKey();
      } catch (e) {
        return e as Error & { toPayload(): { message: { ro: string; en: string } } };
      } finally {
        w.close();
      }
      return undefined;
    })();
    expect(err?.toPayload().message.en).toContain('older copy');
    expect(err?.toPayload().message.ro).toContain('copie mai veche');
  });

  it('is refused when the number in the key file was turned down in place, which breaks its tag', () => {
    const { paths, copy } = migratedWithOldCopy();
    putBack(paths, copy);
    fs.writeFileSync(paths.keyFile, keyFileText(paths).replace(/^anaf-token-key:2:/, 'anaf-token-key:1:'));
    const v = Vault.open({ paths, env });
    expect(() => v.clientSecret('firma')).toThrowError(expect.objectContaining({ code: 'VAULT_ERROR', detail: 'the vault key file is damaged' }));
    v.close();
    // Nor can the prefix be blanked out in place: the old form must start with the key itself.
    fs.writeFileSync(
      paths.keyFile,
      keyFileText(paths)
        .replace(/^anaf-token-key:1:/, ' '.repeat(17))
        .replace(/:[A-Za-z0-9_-]{22}\n$/, '\n'),
    );
    expect(() => Vault.open({ paths, env })).toThrowError(expect.objectContaining({ code: 'VAULT_ERROR' }));
  });

  it('a crash after the migration, before the key file was written: the next use writes it, and a copy is refused from then on', () => {
    const { paths, copy, oldKeyFile } = migratedWithOldCopy();
    const migrated = copyOf(paths);
    // As if the process had died between the commit and the key file: the migrated vault, the old key file.
    fs.writeFileSync(paths.keyFile, oldKeyFile);
    const v = Vault.open({ paths, env });
    expect(v.readTokens('firma')).toMatchObject({ accessToken: `${ACCESS}-firma` });
    v.close();
    expect(keyFileText(paths)).toMatch(/^anaf-token-key:2:/);
    putBack(paths, copy);
    const w = Vault.open({ paths, env });
    expect(() => w.clientSecret('firma')).toThrowError(rolledBack);
    w.close();
    // The current file put back: everything opens again.
    putBack(paths, migrated);
    const back = Vault.open({ paths, env });
    expect(back.clientSecret('firma')).toBe(`${SECRET}-firma`);
    back.close();
  });

  it('several connections: one that opened before the migration (and read the old floor) still finds it done, and is not refused', () => {
    const { paths, vault } = seeded();
    vault.close();
    sealTheOldWay(paths, ['firma']);
    const a = Vault.open({ paths, env });
    const b = Vault.open({ paths, env });
    expect(a.clientSecret('firma')).toBe(`${SECRET}-firma`);
    expect(keyFileText(paths)).toMatch(/^anaf-token-key:2:/);
    expect(b.readTokens('firma')).toMatchObject({ refreshToken: `${REFRESH}-firma` });
    a.close();
    b.close();
  });
});

describe('key records (the key and its vault schema floor)', () => {
  const key = Buffer.alloc(32, 9);
  it('floor 1 is the plain base64 every build wrote; a higher floor is tagged with the key', () => {
    expect(encodeKeyRecord(key, 1)).toBe(key.toString('base64'));
    const two = encodeKeyRecord(key, 2);
    expect(two).toMatch(/^anaf-token-key:2:[A-Za-z0-9+/]{43}=:[A-Za-z0-9_-]{22}$/);
    expect(verifiedFloor(two, 'damaged')).toEqual({ key, floor: 2 });
    expect(verifiedFloor(key.toString('base64'), 'damaged')).toEqual({ key, floor: 1 });
    // The number cannot be changed without the key: not up, not down (to 1 in the long form either).
    for (const forged of [two.replace(':2:', ':3:'), two.replace(':2:', ':1:'), two.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))]) {
      expect(() => verifiedFloor(forged, 'damaged'), forged).toThrow('damaged');
    }
    // Leading white space, a cut key, anything else: damaged, never another key.
    for (const bad of [` ${key.toString('base64')}`, key.toString('base64').slice(1), `${two}x`, 'dpapi:AAAA', '']) {
      expect(() => decodeKeyRecord(bad, 'damaged'), bad).toThrow('damaged');
    }
  });

  it('the file store raises the floor only over its own key, only upwards, and keeps the key', () => {
    const dir = tempPaths('key-floor').dataDir;
    fs.mkdirSync(dir, { recursive: true });
    const keyFile = `${dir}/vault.key`;
    const store = fileKeyStore(keyFile);
    const k = store.create();
    expect(fs.readFileSync(keyFile, 'utf8')).toBe(`${k.toString('base64')}\n`);
    expect(store.raiseFloor(Buffer.alloc(32, 1), 2)).toBe(false); // another key: not written
    expect(store.readRecord()).toEqual({ key: k, floor: 1 });
    expect(store.raiseFloor(k, 2)).toBe(true);
    expect(store.raiseFloor(k, 2)).toBe(false);
    expect(store.raiseFloor(k, 1)).toBe(false);
    expect(store.verifiedRecord()).toEqual({ key: k, floor: 2 });
    expect(store.read()!.equals(k)).toBe(true);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(() => store.create()).toThrow(/EEXIST/);
  });
});
