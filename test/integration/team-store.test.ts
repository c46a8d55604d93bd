/**
 * The team store (native-host/src/team/) against a real PostgreSQL (test/helpers/postgres.ts: one
 * cluster for this file, one database per test): the Store contract every engine passes, then what
 * only a shared server brings: rows edited behind the store's back, a wrong team key, several
 * machines (NOTIFY, leases, a refresher killed with kill -9), the server going away and coming
 * back, invites, and the due scan over 10,000 profiles.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenSet } from '../../native-host/src/store/records.js';
import { createInvite, initTeam, joinTeam } from '../../native-host/src/team/team-commands.js';
import { loadTeamKey, registrationFor } from '../../native-host/src/team/team-key.js';
import { TeamStore } from '../../native-host/src/team/team-store.js';
import { startPostgres, type Pg } from '../helpers/postgres.js';
import { codeOf, newClock, profileWrite, storeContract, type ContractClock } from '../helpers/store-contract.js';
import { tempPaths } from '../helpers/temp.js';

const DAY = 86_400_000;
let server: Pg;
let dbCount = 0;
const open: TeamStore[] = [];

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await server?.destroy();
});

/** A fresh database, set up as a team with `key`; returns its URL. */
async function freshDb(): Promise<{ url: string; db: string }> {
  const db = `team_${++dbCount}`;
  await server.createDatabase(db);
  return { url: server.url(db), db };
}

/** A machine of the team (`init`: the one that records the team in an empty store). */
async function connect(url: string, teamKey: Buffer | undefined, clock?: ContractClock, init = false): Promise<TeamStore> {
  const s = await TeamStore.connect({ url, teamKey, register: init && teamKey ? registrationFor(teamKey) : undefined, ...(clock ? { now: clock.now } : {}) });
  open.push(s);
  return s;
}

const tokens = (tag: string, accessExpiresAt: number): TokenSet => ({
  accessToken: `access-${tag}`,
  refreshToken: `refresh-${tag}`,
  accessExpiresAt,
  refreshExpiresAt: accessExpiresAt + 300 * DAY,
});

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await ok()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

storeContract('postgres', async (clock) => {
  const { url } = await freshDb();
  const teamKey = crypto.randomBytes(32);
  return TeamStore.connect({ url, teamKey, now: clock.now, register: registrationFor(teamKey) });
});

describe('team store on PostgreSQL', () => {
  /** A team with one profile "a" authorized, seen through `store`. */
  async function team() {
    const { url, db } = await freshDb();
    const key = crypto.randomBytes(32);
    const clock = newClock();
    const store = await connect(url, key, clock, true);
    const profile = (await store.saveProfile(profileWrite('a'), 'create')).profile;
    await store.saveTokens(profile, tokens('g1', clock.now() + 90 * DAY), { kind: 'authorization', certificate: {}, stateEchoed: true });
    return { url, db, key, clock, store, profile };
  }

  it('sets up its schema once, records it, and refuses a database of a newer schema', async () => {
    const { url, db } = await freshDb();
    const key = crypto.randomBytes(32);
    // Three machines set up the same team at once: one migrates, the others wait for it (advisory
    // lock), and one of them creates the team.
    const stores = await Promise.all([0, 1, 2].map(() => connect(url, key, undefined, true)));
    expect(stores.filter((s) => s.recordedRegistration)).toHaveLength(1);
    expect(new Set(stores.map((s) => s.registration.keyCheck.toString('hex'))).size).toBe(1);
    for (const s of stores) s.checkKey();
    const versions = await server.query<{ version: number }>(db, 'SELECT version FROM anaf_token.schema_migrations');
    expect(versions.rows.map((r) => r.version)).toEqual([1]);
    const tables = await server.query<{ t: string }>(db, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'anaf_token' ORDER BY 1");
    expect(tables.rows.map((r) => r.t)).toEqual([
      'api_clients',
      'audit',
      'pending_authorizations',
      'profiles',
      'schema_migrations',
      'team_invites',
      'team_meta',
      'tokens',
    ]);

    await server.query(db, 'INSERT INTO anaf_token.schema_migrations (version, applied_at) VALUES (99, 0)');
    expect(await codeOf(() => TeamStore.connect({ url, teamKey: key }))).toBe('STORE_NEWER');
  });

  it('works for a database user that may only create its own schema, over TCP and the unix socket', async () => {
    const { db } = await freshDb();
    const login = { user: `erp_${dbCount}`, password: crypto.randomBytes(12).toString('hex') };
    await server.query('postgres', `CREATE ROLE ${login.user} LOGIN PASSWORD '${login.password}'`);
    await server.query('postgres', `GRANT CONNECT, CREATE ON DATABASE ${db} TO ${login.user}`);
    const key = crypto.randomBytes(32);
    const tcp = await connect(server.url(db, login), key, undefined, true);
    expect(tcp.recordedRegistration).toBe(true);
    await tcp.saveProfile(profileWrite('a'), 'create');
    expect(await tcp.tryAcquireLease('refresh:a', 'o', 60_000)).toBe(true);
    const socket = await connect(server.socketUrl(db, login), key);
    expect(await socket.clientSecret('a')).toBe('secret-of-a');
    expect(await socket.leaseActive('refresh:a')).toBe(true); // pg_locks is readable without privileges
    await tcp.releaseLease('refresh:a', 'o');
    expect(await codeOf(() => TeamStore.connect({ url: server.url(db, { ...login, password: 'wrong' }), teamKey: key }))).toBe('STORE_ERROR');
  });

  it("refuses a database without a team, and a team key that is not the team's", async () => {
    const { url } = await freshDb();
    expect(await codeOf(() => TeamStore.connect({ url, teamKey: crypto.randomBytes(32) }))).toBe('TEAM_NOT_SET_UP');
    const key = crypto.randomBytes(32);
    const first = await connect(url, key, undefined, true);
    expect(first.recordedRegistration).toBe(true);
    await first.saveProfile(profileWrite('a'), 'create');
    await first.addApiClient('erp', 'k'.repeat(43));

    const again = await connect(url, key, undefined, true); // team init on a database that has a team
    expect(again.recordedRegistration).toBe(false);
    expect(again.registration).toEqual(first.registration);
    again.checkKey();

    const wrong = await connect(url, crypto.randomBytes(32));
    // Plain columns need no key; every sealed value does, and the answer is one clear error.
    expect((await wrong.listProfiles()).map((p) => p.name)).toEqual(['a']);
    expect(await codeOf(() => wrong.checkKey())).toBe('TEAM_KEY_WRONG');
    expect(await codeOf(() => wrong.clientSecret('a'))).toBe('TEAM_KEY_WRONG');
    expect(await codeOf(() => wrong.readTokens('a'))).toBe('TEAM_KEY_WRONG');
    expect(await codeOf(() => wrong.apiClientKey('erp'))).toBe('TEAM_KEY_WRONG');
    expect(await codeOf(() => wrong.saveProfile(profileWrite('b'), 'create'))).toBe('TEAM_KEY_WRONG');
    expect(await wrong.findProfile('b')).toBeUndefined();
  });

  it('lets a machine without the key read the registration and take its invite, and nothing sealed', async () => {
    const { url, store } = await team();
    await store.putInvite({ id: 'inv', wrapped: Buffer.from('wrapped'), expiresAt: Date.now() + 60_000, createdBy: 'ws1' });
    const joiner = await connect(url, undefined);
    expect(joiner.registration).toEqual(store.registration);
    expect((await joiner.listProfiles()).map((p) => p.name)).toEqual(['a']);
    expect((await joiner.takeInvite('inv', Date.now()))?.createdBy).toBe('ws1');
    for (const call of [
      () => joiner.checkKey(),
      () => joiner.clientSecret('a'),
      () => joiner.readTokens('a'),
      () => joiner.saveProfile(profileWrite('b'), 'create'),
    ]) {
      expect(await codeOf(call)).toBe('TEAM_KEY_MISSING');
    }
  });

  it('runs team init, invite and join (team-commands.ts) against the real store: the joined machine opens the secrets', async () => {
    const { url } = await freshDb();
    const env = { ANAF_TOKEN_KEYSTORE: 'file' };
    const first = { paths: tempPaths('team-first'), keyStoreEnv: env };
    const second = { paths: tempPaths('team-second'), keyStoreEnv: env };
    const made = initTeam(first);
    const firstKey = loadTeamKey({ paths: first.paths, env }).key;
    const a = await TeamStore.connect({ url, teamKey: firstKey, register: made.registration });
    open.push(a);
    expect(a.recordedRegistration).toBe(true);
    await a.saveProfile(profileWrite('firma'), 'create');
    const invite = await createInvite({ ...first, invites: a, team: a.registration });

    const keyless = await connect(url, undefined);
    const joined = await joinTeam({ ...second, inviteText: invite.text, code: invite.code, invites: keyless, team: keyless.registration });
    expect(joined.status).toBe('joined');
    const b = await connect(url, loadTeamKey({ paths: second.paths, env }).key);
    expect(await b.clientSecret('firma')).toBe('secret-of-firma');
    // The invite was used up.
    const third = { paths: tempPaths('team-third'), keyStoreEnv: env };
    expect(await codeOf(() => joinTeam({ ...third, inviteText: invite.text, code: invite.code, invites: keyless, team: keyless.registration }))).toBe(
      'INVITE_USED_OR_EXPIRED',
    );
  });

  it('holds no secret in clear: the database alone reads nothing', async () => {
    const { db, store } = await team();
    await store.addApiClient('erp', 'K'.repeat(43), { profiles: ['a'] });
    const dump = await server.query<{ t: string; row: string }>(
      db,
      `SELECT 'profiles' AS t, row_to_json(x)::text AS row FROM anaf_token.profiles x
       UNION ALL SELECT 'tokens', row_to_json(x)::text FROM anaf_token.tokens x
       UNION ALL SELECT 'api_clients', row_to_json(x)::text FROM anaf_token.api_clients x
       UNION ALL SELECT 'team_meta', row_to_json(x)::text FROM anaf_token.team_meta x`,
    );
    const text = dump.rows.map((r) => r.row).join('\n');
    expect(dump.rows.length).toBeGreaterThanOrEqual(5);
    for (const plain of ['secret-of-a', 'access-g1', 'refresh-g1', 'K'.repeat(43)]) {
      expect(text).not.toContain(plain);
      expect(text).not.toContain(Buffer.from(plain).toString('hex'));
    }
  });

  it('refuses to open the secrets of a row edited in the database (server, client ID, callback, or a sealed value moved)', async () => {
    const { url, db, key, store } = await team();
    await store.saveProfile(profileWrite('b'), 'create');
    expect(await store.clientSecret('a')).toBe('secret-of-a');

    for (const [column, value] of [
      ['env', 'https://evil.example'],
      ['client_id', 'someone-else'],
      ['redirect_uri', 'https://evil.example/cb'],
    ] as const) {
      const before = await server.query<{ v: string }>(db, `SELECT ${column} AS v FROM anaf_token.profiles WHERE name = 'a'`);
      await server.query(db, `UPDATE anaf_token.profiles SET ${column} = $1 WHERE name = 'a'`, [value]);
      const other = await connect(url, key); // another machine, nothing remembered
      expect(await codeOf(() => other.clientSecret('a'))).toBe('PROFILE_ALTERED');
      expect(await codeOf(() => other.readTokens('a'))).toBe('PROFILE_ALTERED');
      // The edited profile is what a refresh would send to: refused before anything is sent.
      expect(await codeOf(async () => other.checkProfile(await other.getProfile('a')))).toBe('PROFILE_ALTERED');
      await server.query(db, `UPDATE anaf_token.profiles SET ${column} = $1 WHERE name = 'a'`, [before.rows[0]!.v]);
      expect(await other.clientSecret('a')).toBe('secret-of-a');
    }

    // b's secret copied into a's row does not open there.
    await server.query(db, "UPDATE anaf_token.profiles SET secret = (SELECT secret FROM anaf_token.profiles WHERE name = 'b') WHERE name = 'a'");
    const other = await connect(url, key);
    expect(await codeOf(() => other.clientSecret('a'))).toBe('PROFILE_ALTERED');
    // And the store that had read it before learns of the change with the next notification.
    await server.query(db, "SELECT pg_notify('anaf_token_changes', 'dba')");
    await until('the notification', async () => (await codeOf(() => store.clientSecret('a')).catch(() => 'none')) === 'PROFILE_ALTERED');
  });

  it('makes a client key unreadable when its scope is edited in the database', async () => {
    const { url, db, key, store } = await team();
    await store.addApiClient('erp', 'k'.repeat(43), { profiles: ['a'] });
    await store.addApiClient('other', 'o'.repeat(43));
    const edits = [
      "UPDATE anaf_token.api_clients SET profiles = NULL WHERE name = 'erp'", // widened to every profile
      "UPDATE anaf_token.api_clients SET profiles = ARRAY['a', 'b'] WHERE name = 'erp'",
      "UPDATE anaf_token.api_clients SET personal_id = true WHERE name = 'erp'",
      "UPDATE anaf_token.api_clients SET key_sealed = (SELECT key_sealed FROM anaf_token.api_clients WHERE name = 'other') WHERE name = 'erp'",
    ];
    const saved = await server.query<{ key_sealed: Buffer }>(db, "SELECT key_sealed FROM anaf_token.api_clients WHERE name = 'erp'");
    for (const edit of edits) {
      await server.query(db, edit);
      const reader = await connect(url, key);
      const k = await reader.apiClientKey('erp');
      expect(k?.state, edit).toBe('unreadable');
      expect(k?.key).toBeUndefined();
      await server.query(db, "UPDATE anaf_token.api_clients SET profiles = ARRAY['a'], personal_id = false, key_sealed = $1 WHERE name = 'erp'", [
        saved.rows[0]!.key_sealed,
      ]);
    }
    const reader = await connect(url, key);
    expect(await reader.apiClientKey('erp')).toMatchObject({ state: 'ok', profiles: ['a'], key: Buffer.from('k'.repeat(43)) });
  });

  it('tells the other machines of a change (NOTIFY): their epoch moves and they read the new tokens', async () => {
    const { url, key, store: a } = await team();
    const b = await connect(url, key);
    expect((await b.findToken('a'))?.generation).toBe(1);
    expect((await b.readTokens('a'))?.accessToken).toBe('access-g1');
    const epoch = b.readEpoch();
    expect(b.readEpoch()).toBe(epoch); // listening: stable while nothing changes
    await a.saveTokens('a', tokens('g2', Date.now() + 90 * DAY), { kind: 'refresh', certificate: {} });
    await until("b's epoch to move", () => b.readEpoch() !== epoch, 5_000);
    expect((await b.findToken('a'))?.generation).toBe(2);
    expect((await b.readTokens('a'))?.accessToken).toBe('access-g2');

    for (const write of [() => a.markDead('a', 'x'), () => a.addApiClient('new', 'n'.repeat(43)), () => a.removeProfile('a')]) {
      const e = b.readEpoch();
      await write();
      await until("b's epoch to move", () => b.readEpoch() !== e, 5_000);
    }
    expect(await b.findProfile('a')).toBeUndefined();
  });

  it('trusts nothing it remembers while its LISTEN connection is gone, and listens again by itself', async () => {
    const { url, db, key, store: a } = await team();
    const b = await connect(url, key);
    expect((await b.findToken('a'))?.generation).toBe(1);
    const ended = await server.query(
      db,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'anaf-token listen' AND datname = $1",
      [db],
    );
    expect(ended.rowCount).toBe(2); // a's and b's
    await until('b to notice', () => !b.listening, 5_000);
    // Deaf: a change by a is not heard, so b reads it afresh instead of from memory.
    const e = b.readEpoch();
    expect(b.readEpoch()).not.toBe(e);
    await a.saveTokens('a', tokens('g2', Date.now() + DAY), { kind: 'refresh', certificate: {} });
    expect((await b.findToken('a'))?.generation).toBe(2);
    await until('b to listen again', () => b.listening, 10_000);
    const again = b.readEpoch();
    expect(b.readEpoch()).toBe(again);
    await a.saveTokens('a', tokens('g3', Date.now() + DAY), { kind: 'refresh', certificate: {} });
    await until("b's epoch to move", () => b.readEpoch() !== again, 5_000);
    expect((await b.findToken('a'))?.generation).toBe(3);
  });

  it('stores concurrent token saves from two machines as distinct generations, one transaction each', async () => {
    const { url, key, store: a } = await team();
    const b = await connect(url, key);
    // The first authorization of a profile too: no token row yet to lock.
    await a.saveProfile(profileWrite('fresh'), 'create');
    const firsts = await Promise.all(
      [a, b, a, b].map((s, i) => s.saveTokens('fresh', tokens(`f${i}`, Date.now() + DAY), { kind: 'authorization', certificate: {}, stateEchoed: true })),
    );
    expect(firsts.map((r) => r.generation).sort()).toEqual([1, 2, 3, 4]);
    const saves = Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? a : b).saveTokens('a', tokens(`c${i}`, Date.now() + 90 * DAY), { kind: 'refresh', certificate: {} }),
    );
    const gens = (await Promise.all(saves)).map((r) => r.generation).sort((x, y) => x - y);
    expect(gens).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const final = await b.readTokens('a');
    expect(final?.generation).toBe(21);
  });

  it("gives a lease to one machine at a time, and sees the other machine's lease", async () => {
    const { url, key, store: a } = await team();
    const b = await connect(url, key);
    expect(await a.tryAcquireLease('refresh:a', 'a-owner', 60_000)).toBe(true);
    expect(await b.leaseActive('refresh:a')).toBe(true);
    expect(await b.tryAcquireLease('refresh:a', 'b-owner', 60_000)).toBe(false);
    expect(await b.tryAcquireLease('refresh:a', 'a-owner', 60_000)).toBe(false); // the owner's name alone is not the lease
    // Many concurrent tries across both: still one holder.
    await a.releaseLease('refresh:a', 'a-owner');
    const tries = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).tryAcquireLease('refresh:a', `o${i}`, 60_000)));
    expect(tries.filter(Boolean)).toHaveLength(1);
    const winner = tries.indexOf(true);
    await (winner % 2 ? a : b).releaseLease('refresh:a', `o${winner}`);
    expect(await a.leaseActive('refresh:a')).toBe(false);
    expect(await b.leaseActive('refresh:a')).toBe(false);
  });

  it('takes over at once the lease of a refresher killed with kill -9', async () => {
    const { url, key } = await team();
    const b = await connect(url, key);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'fixtures', 'team-lease-holder.ts'), url, key.toString('hex'), 'refresh:a'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await until('the child to hold the lease', () => out.includes('held') || out.includes('refused') || child.exitCode !== null, 20_000).catch((e: Error) => {
        throw new Error(`${e.message}; child stderr: ${err}`);
      });
      expect(out.trim(), err).toBe('held');
      expect(await b.leaseActive('refresh:a')).toBe(true);
      expect(await b.tryAcquireLease('refresh:a', 'b', 60_000)).toBe(false);
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await until('the lease to be free', async () => b.tryAcquireLease('refresh:a', 'b', 60_000), 5_000);
      const tookOverMs = Date.now() - killedAt;
      console.log(`team-store: lease of a kill -9'd holder taken over after ${tookOverMs} ms`);
      expect(tookOverMs).toBeLessThan(2_000);
      await b.releaseLease('refresh:a', 'b');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('keeps answering the reads it made while PostgreSQL is down, refuses writes, and recovers when it returns', async () => {
    const { url, key, clock, store, profile } = await team();
    await store.addApiClient('erp', 'k'.repeat(43));
    const seen = {
      profile: await store.getProfile('a'),
      token: await store.findToken('a'),
      tokens: await store.readTokens('a'),
      tokensFor: await store.readTokens(profile),
      key: await store.apiClientKey('erp'),
      secret: await store.clientSecret(profile),
    };
    await server.stop();
    let startedAt = 0;
    try {
      await until('the store to notice', () => !store.listening, 10_000);
      // Nothing may be cached by callers while the feed is down.
      const e = store.readEpoch();
      expect(store.readEpoch()).not.toBe(e);

      expect(await store.getProfile('a')).toEqual(seen.profile);
      expect(await store.findProfile('a')).toEqual(seen.profile);
      expect(await store.findToken('a')).toEqual(seen.token);
      expect(await store.readTokens('a')).toEqual(seen.tokens);
      expect(await store.readTokens(profile)).toEqual(seen.tokensFor);
      expect(await store.apiClientKey('erp')).toEqual(seen.key);
      expect(await store.clientSecret(profile)).toBe(seen.secret);
      await store.checkProfile(profile);

      // What it never read, and every write: STORE_UNAVAILABLE (not final: the token service retries).
      expect(await codeOf(() => store.findProfile('b'))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(() => store.listProfiles())).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(() => store.saveTokens(profile, tokens('g2', clock.now() + DAY), { kind: 'refresh', certificate: {} }))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(() => store.recordFailure('a', 'x'))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(() => store.saveProfile(profileWrite('b'), 'create'))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(() => store.tryAcquireLease('refresh:a', 'o', 60_000))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(() => store.addApiClient('x', 'x'.repeat(43)))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(() => TeamStore.connect({ url, teamKey: key }))).toBe('STORE_UNAVAILABLE');
    } finally {
      startedAt = Date.now();
      await server.start();
    }
    // Back without a restart: the feed listens again, the pool reconnects, writes work.
    await until('the store to listen again', () => store.listening, 15_000);
    console.log(`team-store: listening again ${Date.now() - startedAt} ms after PostgreSQL was started again`);
    const e = store.readEpoch();
    expect(store.readEpoch()).toBe(e);
    const saved = await store.saveTokens(profile, tokens('g2', clock.now() + 90 * DAY), { kind: 'refresh', certificate: {} });
    expect(saved.generation).toBe(2);
    expect((await store.readTokens('a'))?.accessToken).toBe('access-g2');
    const other = await connect(url, key);
    await other.markDead('a', 'after the outage');
    await until('the notification after the outage', () => store.readEpoch() !== e, 5_000);
    expect((await store.findToken('a'))?.deadReason).toBe('after the outage');
  });

  it('gives an invite once, and never after it expired', async () => {
    const { db, store } = await team();
    const now = Date.now();
    const invite = { id: 'inv-1', wrapped: crypto.randomBytes(60), expiresAt: now + 60_000, createdBy: 'ws1/contabil' };
    await store.putInvite(invite);
    await store.putInvite({ ...invite, id: 'inv-2', expiresAt: now + 1_000 });
    const [x, y] = await Promise.all([store.takeInvite('inv-1', now), store.takeInvite('inv-1', now)]);
    expect([x, y].filter((r) => r !== undefined)).toEqual([invite]);
    expect(await store.takeInvite('inv-1', now)).toBeUndefined();
    expect(await store.takeInvite('inv-2', now + 1_001)).toBeUndefined(); // expired: refused
    const left = await server.query(db, 'SELECT id FROM anaf_token.team_invites');
    expect(left.rowCount).toBe(0); // and gone
    expect(await store.takeInvite('nope', now)).toBeUndefined();
  });

  it('scans 10,000 profiles for due grants well under 50 ms', async () => {
    const { url, db, key } = await freshDb().then(async (d) => ({ ...d, key: crypto.randomBytes(32) }));
    const clock = newClock();
    const store = await connect(url, key, clock, true);
    const now = clock.now();
    // 10,000 profiles whose tokens end over the next 100 days (window 14 days): about 14% due now.
    // Written straight in SQL: the scan reads only plain columns, never a sealed value.
    await server.query(
      db,
      `INSERT INTO anaf_token.profiles (name, client_id, redirect_uri, env, refresh_window_days, secret, created_at)
       SELECT 'p' || i, 'c' || i, 'https://erp.example/cb', 'test', 14, '\\x00', $1 FROM generate_series(1, 10000) i`,
      [now],
    );
    await server.query(
      db,
      `INSERT INTO anaf_token.tokens (profile, access, refresh, access_expires_at, refresh_expires_at, refresh_due_at, authorized_at, generation, dead_reason)
       SELECT 'p' || i, '\\x00', '\\x00', $1 + i * 864000::bigint, NULL, $1 + i * 864000::bigint - 14 * 86400000::bigint, $1, 1,
              CASE WHEN i % 100 = 0 THEN 'dead' END
       FROM generate_series(1, 10000) i`,
      [now],
    );
    await server.query(db, 'ANALYZE anaf_token.tokens');
    const time = async (at: number) => {
      const runs: number[] = [];
      let n = 0;
      for (let i = 0; i < 25; i++) {
        const t = process.hrtime.bigint();
        n = (await store.dueForRefresh(at)).length;
        runs.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      runs.sort((x, y) => x - y);
      return { due: n, median: runs[12]!, worst: runs.at(-1)! };
    };
    const typical = await time(now);
    const all = await time(now + 200 * DAY);
    const plan = await server.query<{ 'QUERY PLAN': string }>(
      db,
      `EXPLAIN SELECT profile FROM anaf_token.tokens WHERE dead_reason IS NULL AND refresh IS NOT NULL AND refresh_due_at <= ${now} ORDER BY access_expires_at`,
    );
    console.log(
      `team-store: due scan of 10,000 profiles: ${typical.due} due in ${typical.median.toFixed(2)} ms median (worst ${typical.worst.toFixed(2)} ms); ` +
        `all ${all.due} due in ${all.median.toFixed(2)} ms median (worst ${all.worst.toFixed(2)} ms); plan: ${plan.rows.map((r) => r['QUERY PLAN'].trim()).join(' / ')}`,
    );
    expect(typical.due).toBe(1386); // i ≤ 1400 due (i·10 days/1000 ≤ 14 days), less the 14 dead ones
    expect(all.due).toBe(9900);
    expect(typical.median).toBeLessThan(50);
    expect(all.median).toBeLessThan(50);
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('tokens_due');
  });
});
