import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '#shared/index.js';
import { CROCKFORD } from '../../native-host/src/team/crockford.js';
import { acceptInvite, formatInvite, INVITE_PREFIX, makeInvite, normalizeInviteCode, parseInvite, type MadeInvite } from '../../native-host/src/team/invite.js';
import type { InviteStore, TeamInviteRecord } from '../../native-host/src/team/invite-store.js';
import { createInvite, initTeam, joinTeam, teamStatus } from '../../native-host/src/team/team-commands.js';
import { loadTeamKey, newTeamKey, readTeamKey, teamIdOf } from '../../native-host/src/team/team-key.js';
import { tempPaths } from '../helpers/temp.js';

/**
 * The invite rows in memory, with the contract of InviteStore: take deletes and returns, an
 * expired row is never returned. (Unit tests only: the team store on PostgreSQL is tested by itself.)
 */
class MemoryInvites implements InviteStore {
  readonly rows = new Map<string, TeamInviteRecord>();
  takes = 0;
  async putInvite(r: TeamInviteRecord): Promise<void> {
    if (this.rows.has(r.id)) throw new Error('duplicate invite id');
    this.rows.set(r.id, { ...r, wrapped: Buffer.from(r.wrapped) });
  }
  async takeInvite(id: string, now: number): Promise<TeamInviteRecord | undefined> {
    this.takes++;
    const r = this.rows.get(id);
    this.rows.delete(id);
    return r && r.expiresAt > now ? r : undefined;
  }
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('did not reject');
}

function syncError(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

/** Nothing an error says may repeat the invite's characters or the code. */
function expectNoSecretIn(e: AppError, made: MadeInvite): void {
  const said = `${e.message} ${e.detail ?? ''} ${JSON.stringify(e.toPayload())}`;
  expect(said).not.toContain(made.text.slice(INVITE_PREFIX.length, INVITE_PREFIX.length + 16));
  expect(said).not.toContain(made.code.replace(/-/g, '').slice(0, 6));
  expect(said).not.toContain(made.code.slice(0, 9));
}

/** Another valid code: a different first character, the check character recomputed by brute force. */
function otherValidCode(code: string): string {
  const chars = code.replace(/-/g, '');
  const first = CROCKFORD[(CROCKFORD.indexOf(chars[0]!) + 1) % 32]!;
  for (const check of CROCKFORD) {
    const candidate = first + chars.slice(1, 10) + check;
    try {
      normalizeInviteCode(candidate);
      return candidate;
    } catch {
      // not the check character
    }
  }
  throw new Error('no check character fits');
}

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const HOUR = 3_600_000;

let teamKey: Buffer;
let teamId: string;
/** One invite made once (each costs a scrypt): for the tests that never reach the row. */
let shared: MadeInvite;

beforeAll(async () => {
  teamKey = newTeamKey();
  teamId = teamIdOf(teamKey);
  shared = await makeInvite(teamKey, teamId, 'ana@contabil-1', HOUR, T0);
});

describe('invite text and code', () => {
  it('are compact, in the documented form, and the row holds neither the key nor the secret', () => {
    expect(shared.text).toMatch(/^anaf-team:1:[A-Za-z0-9_-]{100}$/);
    expect(shared.text.length).toBe(112);
    expect(shared.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{3}$/);
    const parsed = parseInvite(shared.text);
    expect(parsed).toMatchObject({ inviteId: shared.inviteId, teamId, expiresAt: T0 + HOUR });
    expect(parsed.secret.length).toBe(32);
    expect(formatInvite(parsed)).toBe(shared.text);
    expect(shared.record).toMatchObject({ id: shared.inviteId, expiresAt: T0 + HOUR, createdBy: 'ana@contabil-1' });
    const row = shared.record.wrapped;
    for (const needle of [teamKey, Buffer.from(teamKey.toString('base64')), parsed.secret, Buffer.from(shared.code.replace(/-/g, ''))]) {
      expect(row.includes(needle)).toBe(false);
    }
  });

  it('tolerate white space in the text and case, spaces, dashes, O/0 and I/L/1 in the code', () => {
    const wrapped = `  ${shared.text.slice(0, 50)}\n${shared.text.slice(50)}\r\n`;
    expect(parseInvite(wrapped)).toEqual(parseInvite(shared.text));
    const canonical = normalizeInviteCode(shared.code);
    expect(canonical).toHaveLength(10);
    const messy = ` ${shared.code.toLowerCase().replace(/0/g, 'o').replace(/1/g, 'l').replace(/-/g, ' - ')} `;
    expect(normalizeInviteCode(messy)).toBe(canonical);
    expect(normalizeInviteCode(shared.code.replace(/-/g, '').replace(/1/g, 'I'))).toBe(canonical);
  });

  it('refuse a code of the wrong form before anything is spent, and every single mistyped character', () => {
    for (const bad of ['', 'ABCD-EFGH-JK', 'ABCD-EFGH-JKMN', 'ABCD-EFGH-JKU', 'ABCD*EFGH-JKM']) {
      expect(syncError(() => normalizeInviteCode(bad)).code).toBe('INVITE_CODE_MALFORMED');
    }
    const chars = shared.code.replace(/-/g, '');
    let refused = 0;
    for (let i = 0; i < chars.length; i++) {
      for (const c of CROCKFORD) {
        if (c === chars[i]) continue;
        const typo = chars.slice(0, i) + c + chars.slice(i + 1);
        expect(syncError(() => normalizeInviteCode(typo)).code).toBe('INVITE_CODE_MALFORMED');
        refused++;
      }
    }
    expect(refused).toBe(11 * 31);
  });

  it('refuse an invite text with any one character changed (every position, every bit)', () => {
    let refused = 0;
    for (let i = 0; i < shared.text.length; i++) {
      for (let bit = 0; bit < 7; bit++) {
        const c = String.fromCharCode(shared.text.charCodeAt(i) ^ (1 << bit));
        const altered = shared.text.slice(0, i) + c + shared.text.slice(i + 1);
        const e = syncError(() => parseInvite(altered));
        expect(e.code).toBe('INVITE_INVALID');
        expectNoSecretIn(e, shared);
        refused++;
      }
    }
    expect(refused).toBe(112 * 7);
  });

  it('refuse an invite text with any character replaced, dropped or added (property)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:.=+/';
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(111), c: fc.constantFrom(...alphabet) }),
      fc.record({ kind: fc.constant('drop' as const), at: fc.nat(111), c: fc.constant('') }),
      fc.record({ kind: fc.constant('add' as const), at: fc.nat(112), c: fc.constantFrom(...alphabet) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let t = shared.text;
        for (const e of edits) {
          const at = Math.min(e.at, t.length - (e.kind === 'add' ? 0 : 1));
          t =
            e.kind === 'replace'
              ? t.slice(0, at) + e.c + t.slice(at + 1)
              : e.kind === 'drop'
                ? t.slice(0, at) + t.slice(at + 1)
                : t.slice(0, at) + e.c + t.slice(at);
        }
        fc.pre(t !== shared.text);
        expect(syncError(() => parseInvite(t)).code).toBe('INVITE_INVALID');
      }),
      { numRuns: 3000 },
    );
  });

  it('refuse a text that is no invite, naming the problem without echoing it', () => {
    for (const t of ['', 'anaf-team:2:' + shared.text.slice(12), shared.text.slice(0, 60), shared.text + 'A', shared.text.replace('anaf-team', 'ANAF-TEAM')]) {
      const e = syncError(() => parseInvite(t));
      expect(e.code).toBe('INVITE_INVALID');
      expectNoSecretIn(e, shared);
    }
  });
});

describe('accepting an invite', () => {
  it('round trip: the joiner gets the team key once; a second use finds nothing', async () => {
    const store = new MemoryInvites();
    const made = await makeInvite(teamKey, teamId, 'ana@contabil-1', HOUR, T0);
    await store.putInvite(made.record);
    // Typed the way people type it.
    const typed = made.code.toLowerCase().replace(/-/g, ' ');
    const got = await acceptInvite(made.text, typed, store, T0 + HOUR - 1);
    expect(got.teamKey.equals(teamKey)).toBe(true);
    expect(got).toMatchObject({ teamId, inviteId: made.inviteId, createdBy: 'ana@contabil-1' });
    expect(store.rows.size).toBe(0);
    const twice = await rejection(acceptInvite(made.text, made.code, store, T0 + 2));
    expect(twice.code).toBe('INVITE_USED_OR_EXPIRED');
  }, 30_000);

  it('a wrong code spends the invite: the right code afterwards finds nothing', async () => {
    const store = new MemoryInvites();
    const made = await makeInvite(teamKey, teamId, 'ana@contabil-1', HOUR, T0);
    await store.putInvite(made.record);
    const wrong = await rejection(acceptInvite(made.text, otherValidCode(made.code), store, T0 + 1));
    expect(wrong.code).toBe('INVITE_CODE_WRONG');
    expect(wrong.messageRo).toContain('invitație nouă');
    expect(wrong.message).toContain('new invite');
    expectNoSecretIn(wrong, made);
    expect(store.rows.size).toBe(0);
    const right = await rejection(acceptInvite(made.text, made.code, store, T0 + 2));
    expect(right.code).toBe('INVITE_USED_OR_EXPIRED');
  }, 30_000);

  it('an expired invite is refused without taking the row; the store refuses its expired rows too', async () => {
    const store = new MemoryInvites();
    await store.putInvite(shared.record);
    const late = await rejection(acceptInvite(shared.text, shared.code, store, T0 + HOUR));
    expect(late.code).toBe('INVITE_USED_OR_EXPIRED');
    expect(store.takes).toBe(0);
    expect(store.rows.size).toBe(1);
    // The store's clock: a row it holds as expired is not given back, whatever the text says.
    const storeExpired = new MemoryInvites();
    await storeExpired.putInvite({ ...shared.record, expiresAt: T0 });
    expect((await rejection(acceptInvite(shared.text, shared.code, storeExpired, T0 + 1))).code).toBe('INVITE_USED_OR_EXPIRED');
  });

  it('a malformed code or text spends nothing', async () => {
    const store = new MemoryInvites();
    await store.putInvite(shared.record);
    expect((await rejection(acceptInvite(shared.text, 'ABCD-EFGH', store, T0))).code).toBe('INVITE_CODE_MALFORMED');
    expect((await rejection(acceptInvite(shared.text.slice(0, -1), shared.code, store, T0))).code).toBe('INVITE_INVALID');
    expect(store.takes).toBe(0);
    expect(store.rows.size).toBe(1);
  });

  it('fields edited with the check recomputed do not open the row: the associated data binds them', async () => {
    const parsed = parseInvite(shared.text);
    // A later expiry, written by someone who knows the format.
    const extended = formatInvite({ ...parsed, expiresAt: parsed.expiresAt + 30 * 24 * HOUR });
    const store = new MemoryInvites();
    await store.putInvite(shared.record);
    expect((await rejection(acceptInvite(extended, shared.code, store, T0 + 1))).code).toBe('INVITE_CODE_WRONG');
    // The row moved under another invite's id.
    const moved = new MemoryInvites();
    const otherId = 'ab'.repeat(16);
    await moved.putInvite({ ...shared.record, id: otherId });
    expect((await rejection(acceptInvite(formatInvite({ ...parsed, inviteId: otherId }), shared.code, moved, T0 + 1))).code).toBe('INVITE_CODE_WRONG');
  }, 30_000);
});

describe('team invite and join between two machines', () => {
  const env = { ANAF_TOKEN_KEYSTORE: 'file' };
  const output: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('hands the key over once, stores it in the joiner key store, and writes nothing to any output', async () => {
    const capture =
      (name: string) =>
      (...args: unknown[]) => {
        output.push(`${name}: ${args.map(String).join(' ')}`);
        return true;
      };
    for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) vi.spyOn(console, m).mockImplementation(capture(m));
    vi.spyOn(process.stdout, 'write').mockImplementation(capture('stdout'));
    vi.spyOn(process.stderr, 'write').mockImplementation(capture('stderr'));

    const a = { paths: tempPaths('team-a'), keyStoreEnv: env };
    const b = { paths: tempPaths('team-b'), keyStoreEnv: env };
    const store = new MemoryInvites();
    const made = initTeam(a);
    const invite = await createInvite({ ...a, invites: store, team: made.registration, createdBy: 'ana@contabil-1', ttlMs: HOUR });
    expect(store.rows.size).toBe(1);
    const joined = await joinTeam({ ...b, inviteText: invite.text, code: invite.code, invites: store, team: made.registration });
    expect(joined).toEqual({
      status: 'joined',
      teamId: made.teamId,
      fingerprint: made.fingerprint,
      keyStore: 'file',
      createdBy: 'ana@contabil-1',
      replacedTeamId: undefined,
    });
    expect(loadTeamKey({ paths: b.paths, env }).key.equals(loadTeamKey({ paths: a.paths, env }).key)).toBe(true);
    expect(fs.statSync(path.join(b.paths.dataDir, 'team.key')).mode & 0o777).toBe(0o600);
    expect(teamStatus({ ...b, team: made.registration }).store).toEqual({ teamId: made.teamId, opens: true, problem: undefined });
    expect(store.rows.size).toBe(0);

    // Joining again with a fresh invite: already a member, the invite is left unspent.
    const second = await createInvite({ ...a, invites: store, team: made.registration, ttlMs: HOUR });
    const again = await joinTeam({ ...b, inviteText: second.text, code: second.code, invites: store, team: made.registration });
    expect(again.status).toBe('already-member');
    expect(store.rows.size).toBe(1);

    vi.restoreAllMocks();
    expect(output).toEqual([]);
    // Nothing here logs at all: no console, and of the logger module only registerSecret (which
    // keeps an opened secret out of every log line, as the vault does).
    for (const f of fs.readdirSync('native-host/src/team')) {
      const src = fs.readFileSync(path.join('native-host/src/team', f), 'utf8').replace("import { registerSecret } from '../log/logger.js';", '');
      expect(src, f).not.toMatch(/console\.|log\/logger|process\.(stdout|stderr)/);
    }
    // Neither the invite text nor the code is left in either data folder.
    for (const dir of [a.paths.dataDir, b.paths.dataDir]) {
      for (const f of fs.readdirSync(dir)) {
        const body = fs.readFileSync(path.join(dir, f), 'utf8');
        expect(body).not.toContain(invite.text.slice(INVITE_PREFIX.length, INVITE_PREFIX.length + 16));
        expect(body).not.toContain(invite.code);
      }
    }
  }, 30_000);

  it('refuses, without spending the invite, a machine of another team and an invite of another store', async () => {
    const a = { paths: tempPaths('team-a'), keyStoreEnv: env };
    const c = { paths: tempPaths('team-c'), keyStoreEnv: env };
    const store = new MemoryInvites();
    const teamA = initTeam(a);
    const teamC = initTeam(c);
    const invite = await createInvite({ ...a, invites: store, team: teamA.registration, ttlMs: HOUR });

    const busy = await rejection(joinTeam({ ...c, inviteText: invite.text, code: invite.code, invites: store, team: teamA.registration }));
    expect(busy.code).toBe('TEAM_KEY_EXISTS');
    expect(busy.detail).toContain(teamC.teamId);
    const elsewhere = await rejection(joinTeam({ ...c, inviteText: invite.text, code: invite.code, invites: store, team: teamC.registration }));
    expect(elsewhere.code).toBe('INVITE_INVALID');
    expect(store.takes).toBe(0);

    const replaced = await joinTeam({ ...c, inviteText: invite.text, code: invite.code, invites: store, team: teamA.registration, force: true });
    expect(replaced).toMatchObject({ status: 'replaced', teamId: teamA.teamId, replacedTeamId: teamC.teamId });
    expect(teamIdOf(loadTeamKey({ paths: c.paths, env }).key)).toBe(teamA.teamId);
  }, 30_000);

  it('keeps nothing when the key does not open the store, and will not invite with a key that does not', async () => {
    const a = { paths: tempPaths('team-a'), keyStoreEnv: env };
    const b = { paths: tempPaths('team-b'), keyStoreEnv: env };
    const store = new MemoryInvites();
    const made = initTeam(a);
    const invite = await createInvite({ ...a, invites: store, team: made.registration, ttlMs: HOUR });
    const altered = Buffer.from(made.registration.keyCheck);
    altered[altered.length - 1]! ^= 0x80;
    const team = { ...made.registration, keyCheck: altered };
    const e = await rejection(joinTeam({ ...b, inviteText: invite.text, code: invite.code, invites: store, team }));
    expect(e.code).toBe('TEAM_KEY_WRONG');
    expect(readTeamKey({ paths: b.paths, env })).toEqual({ state: 'none' });
    expect((await rejection(createInvite({ ...a, invites: store, team, ttlMs: HOUR }))).code).toBe('TEAM_KEY_WRONG');
    expect((await rejection(createInvite({ ...b, invites: store, team: made.registration, ttlMs: HOUR }))).code).toBe('TEAM_KEY_MISSING');
    expect((await rejection(createInvite({ ...a, invites: store, team: made.registration, ttlMs: 8 * 24 * HOUR }))).code).toBe('BAD_REQUEST');
  }, 30_000);
});
