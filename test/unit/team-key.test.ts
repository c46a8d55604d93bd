import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '#shared/index.js';
import { fileKeyStore } from '../../native-host/src/vault/key-store.js';
import { seal } from '../../native-host/src/vault/crypto.js';
import { KEY_CHECK_AAD } from '../../native-host/src/vault/aad.js';
import {
  checkTeamKey,
  fingerprintOf,
  keepTeamKey,
  loadTeamKey,
  newTeamKey,
  readTeamKey,
  registrationFor,
  TEAM_KEY_CHECK_AAD,
  teamFiles,
  teamIdOf,
} from '../../native-host/src/team/team-key.js';
import { initTeam, teamStatus } from '../../native-host/src/team/team-commands.js';
import { tempPaths } from '../helpers/temp.js';

const env = { ANAF_TOKEN_KEYSTORE: 'file' };
const machine = () => ({ paths: tempPaths('team-key'), env });

function appError(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

const mode = (f: string) => fs.statSync(f).mode & 0o777;

describe('team key', () => {
  it('names its team and shows a fingerprint, both derived from the key and neither revealing it', () => {
    const key = newTeamKey();
    expect(key.length).toBe(32);
    expect(teamIdOf(key)).toMatch(/^[0-9a-f]{32}$/);
    expect(teamIdOf(Buffer.from(key))).toBe(teamIdOf(key));
    expect(fingerprintOf(key)).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    const other = newTeamKey();
    expect(teamIdOf(other)).not.toBe(teamIdOf(key));
    expect(fingerprintOf(other)).not.toBe(fingerprintOf(key));
    for (const shown of [teamIdOf(key), fingerprintOf(key)]) {
      expect(shown).not.toContain(key.toString('hex').slice(0, 8));
      expect(shown).not.toContain(key.toString('base64').slice(0, 8));
    }
  });

  it('is kept in a 0600 file of its own beside the vault key, and loaded back', () => {
    const m = machine();
    // A vault key already there: the team key must neither read nor touch it.
    fs.mkdirSync(m.paths.dataDir, { recursive: true, mode: 0o700 });
    const vaultKey = fileKeyStore(m.paths.keyFile).create();
    const vaultKeyText = fs.readFileSync(m.paths.keyFile, 'utf8');
    expect(readTeamKey(m)).toEqual({ state: 'none' });

    const key = newTeamKey();
    const kept = keepTeamKey(m, key, { replace: false });
    expect(kept).toMatchObject({ replaced: undefined, held: { teamId: teamIdOf(key), fingerprint: fingerprintOf(key), keyStore: 'file' } });
    const files = teamFiles(m.paths.dataDir);
    expect(files.keyFile).not.toBe(m.paths.keyFile);
    expect(mode(files.keyFile)).toBe(0o600);
    expect(mode(files.index)).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(files.index, 'utf8'))).toMatchObject({ v: 1, keyStore: 'file' });
    // team.json says where the key is, never the key.
    expect(fs.readFileSync(files.index, 'utf8')).not.toContain(key.toString('base64'));

    const loaded = loadTeamKey(m);
    expect(loaded.key.equals(key)).toBe(true);
    expect(loaded).toMatchObject({ teamId: teamIdOf(key), keyStore: 'file' });
    expect(fs.readFileSync(m.paths.keyFile, 'utf8')).toBe(vaultKeyText);
    expect(fileKeyStore(m.paths.keyFile).read()?.equals(vaultKey)).toBe(true);
  });

  it('holds one team: another key is refused unless replacing, the same key changes nothing', () => {
    const m = machine();
    const first = newTeamKey();
    keepTeamKey(m, first, { replace: false });
    const second = newTeamKey();
    const refused = appError(() => keepTeamKey(m, second, { replace: false }));
    expect(refused.code).toBe('TEAM_KEY_EXISTS');
    expect(refused.detail).toContain(teamIdOf(first));
    expect(loadTeamKey(m).key.equals(first)).toBe(true);

    const before = fs.statSync(teamFiles(m.paths.dataDir).keyFile).mtimeMs;
    expect(keepTeamKey(m, first, { replace: false }).replaced).toBeUndefined();
    expect(fs.statSync(teamFiles(m.paths.dataDir).keyFile).mtimeMs).toBe(before);

    expect(keepTeamKey(m, second, { replace: true }).replaced).toBe(teamIdOf(first));
    expect(loadTeamKey(m).key.equals(second)).toBe(true);
    expect(mode(teamFiles(m.paths.dataDir).keyFile)).toBe(0o600);
  });

  it('says the key is missing when team.json points at an empty store, and fills it on the next keep', () => {
    const m = machine();
    const key = newTeamKey();
    keepTeamKey(m, key, { replace: false });
    fs.rmSync(teamFiles(m.paths.dataDir).keyFile);
    expect(readTeamKey(m)).toMatchObject({ state: 'missing', keyStore: 'file' });
    expect(appError(() => loadTeamKey(m)).code).toBe('TEAM_KEY_MISSING');
    keepTeamKey(m, key, { replace: false });
    expect(loadTeamKey(m).key.equals(key)).toBe(true);
  });

  it('does not silently write over a team.key that lost its team.json', () => {
    const m = machine();
    const stray = newTeamKey();
    keepTeamKey(m, stray, { replace: false });
    fs.rmSync(teamFiles(m.paths.dataDir).index);
    expect(readTeamKey(m)).toEqual({ state: 'none' });
    const e = appError(() => keepTeamKey(m, newTeamKey(), { replace: false }));
    expect(e.code).toBe('TEAM_KEY_EXISTS');
    expect(e.detail).toContain(teamIdOf(stray));
    // Refused before anything was written: still no team.json.
    expect(fs.existsSync(teamFiles(m.paths.dataDir).index)).toBe(false);
    // The same key is taken back as it is.
    keepTeamKey(m, stray, { replace: false });
    expect(loadTeamKey(m).key.equals(stray)).toBe(true);
  });

  it('leaves no team.json behind when the key could not be written', () => {
    const m = machine();
    fs.mkdirSync(m.paths.dataDir, { recursive: true, mode: 0o700 });
    // A planted link where the key goes: reading finds nothing, the exclusive write refuses it.
    const target = path.join(m.paths.dataDir, 'elsewhere');
    fs.symlinkSync(target, teamFiles(m.paths.dataDir).keyFile);
    const e = appError(() => keepTeamKey(m, newTeamKey(), { replace: false }));
    expect(e.code).toBe('TEAM_KEY_STORE_FAILED');
    expect(fs.existsSync(teamFiles(m.paths.dataDir).index)).toBe(false);
    expect(fs.existsSync(target)).toBe(false);
    expect(readTeamKey(m)).toEqual({ state: 'none' });
  });

  it('reports a damaged team.json or team.key as a key store failure, never echoing the key', () => {
    const m = machine();
    const key = newTeamKey();
    keepTeamKey(m, key, { replace: false });
    const files = teamFiles(m.paths.dataDir);
    const keyText = fs.readFileSync(files.keyFile, 'utf8');
    fs.writeFileSync(files.keyFile, keyText.slice(0, 20) + '!' + keyText.slice(21));
    const damagedKey = appError(() => loadTeamKey(m));
    expect(damagedKey.code).toBe('TEAM_KEY_STORE_FAILED');
    expect(damagedKey.detail).toContain('team key file is damaged');
    expect(damagedKey.message).not.toContain(keyText.trim().slice(0, 12));
    fs.writeFileSync(files.keyFile, keyText);
    fs.writeFileSync(files.index, '{"v":1,"keyStore":"floppy","namespace":"00"}');
    expect(appError(() => readTeamKey(m)).code).toBe('TEAM_KEY_STORE_FAILED');
  });

  it('proves a key against the store it is meant for', () => {
    const key = newTeamKey();
    const reg = registrationFor(key);
    expect(reg.teamId).toBe(teamIdOf(key));
    checkTeamKey(key, reg);
    // Another team's key.
    expect(appError(() => checkTeamKey(newTeamKey(), reg)).code).toBe('TEAM_KEY_WRONG');
    // Each byte of the check value altered in turn.
    for (let i = 0; i < reg.keyCheck.length; i++) {
      const altered = Buffer.from(reg.keyCheck);
      altered[i]! ^= 0x01;
      expect(appError(() => checkTeamKey(key, { ...reg, keyCheck: altered })).code).toBe('TEAM_KEY_WRONG');
    }
    // A value sealed with the same key for another purpose (the vault's check AAD) or naming another team.
    expect(appError(() => checkTeamKey(key, { ...reg, keyCheck: seal(key, `anaf-token team key check ${reg.teamId}`, KEY_CHECK_AAD) })).code).toBe(
      'TEAM_KEY_WRONG',
    );
    expect(appError(() => checkTeamKey(key, { ...reg, keyCheck: seal(key, 'anaf-token team key check 0', TEAM_KEY_CHECK_AAD) })).code).toBe('TEAM_KEY_WRONG');
  });
});

describe('team init and status', () => {
  it('creates the key once, returns what the store records, and says what this machine holds', () => {
    const m = machine();
    const ctx = { paths: m.paths, keyStoreEnv: env };
    expect(teamStatus(ctx)).toEqual({ machine: { state: 'none' }, store: undefined });
    const made = initTeam(ctx);
    expect(made).toMatchObject({ teamId: made.registration.teamId, keyStore: 'file', replacedTeamId: undefined });
    const key = loadTeamKey(m).key;
    expect(teamIdOf(key)).toBe(made.teamId);
    expect(fingerprintOf(key)).toBe(made.fingerprint);
    checkTeamKey(key, made.registration);
    // The result carries no key: only the id, the fingerprint and a sealed value.
    expect(JSON.stringify(made)).not.toContain(key.toString('base64'));
    expect(made.registration.keyCheck.includes(key)).toBe(false);

    const status = teamStatus({ ...ctx, team: made.registration });
    expect(status).toEqual({
      machine: { state: 'held', teamId: made.teamId, fingerprint: made.fingerprint, keyStore: 'file' },
      store: { teamId: made.teamId, opens: true, problem: undefined },
    });
    expect(JSON.stringify(status)).not.toContain(key.toString('base64'));

    const again = appError(() => initTeam(ctx));
    expect(again.code).toBe('TEAM_KEY_EXISTS');
    expect(loadTeamKey(m).key.equals(key)).toBe(true);

    const forced = initTeam({ ...ctx, force: true });
    expect(forced.replacedTeamId).toBe(made.teamId);
    expect(forced.teamId).not.toBe(made.teamId);
    expect(teamStatus({ ...ctx, team: made.registration }).store).toMatchObject({ opens: false, problem: expect.stringContaining(made.teamId) });
  });

  it('reports a missing key in status rather than throwing', () => {
    const m = machine();
    const ctx = { paths: m.paths, keyStoreEnv: env };
    const made = initTeam(ctx);
    fs.rmSync(path.join(m.paths.dataDir, 'team.key'));
    expect(teamStatus({ ...ctx, team: made.registration })).toEqual({
      machine: { state: 'missing', keyStore: 'file', detail: expect.any(String) },
      store: { teamId: made.teamId, opens: false, problem: 'this computer holds no team key' },
    });
  });
});
