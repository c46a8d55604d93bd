/**
 * One behaviour suite for every Store engine (store/store.ts): the local vault and the team store
 * must answer the same calls with the same records and the same errors. A test file calls
 * storeContract() with a factory that opens a fresh, empty store on a given clock. Every call is
 * awaited: the vault answers synchronously, the team store with promises.
 */
import { describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '#shared/errors.js';
import type { Profile } from '#shared/schemas/profile.js';
import type { ProfileWrite, TokenSet } from '../../native-host/src/store/records.js';
import type { Store } from '../../native-host/src/store/store.js';

export interface ContractClock {
  now: () => number;
  advance(ms: number): void;
}

/** Opens a fresh, empty store (its own database or file) that reads time from `clock`. */
export type StoreFactory = (clock: ContractClock) => Promise<Store>;

const T0 = 1_767_225_600_000; // 2026-01-01
const DAY = 86_400_000;

export function newClock(start = T0): ContractClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export const profileWrite = (name: string, over: Partial<ProfileWrite> = {}): ProfileWrite => ({
  name,
  clientId: `client-${name}`,
  redirectUri: `https://erp.example/callback/${name}`,
  env: 'test',
  refreshWindowDays: 14,
  clientSecret: `secret-of-${name}`,
  ...over,
});

const tokenSet = (tag: string, accessExpiresAt: number, refresh = true): TokenSet => ({
  accessToken: `access-${tag}`,
  refreshToken: refresh ? `refresh-${tag}` : undefined,
  accessExpiresAt,
  refreshExpiresAt: accessExpiresAt + 300 * DAY,
});

/** Resolves to the AppError code the call failed with (fails the test when it did not fail). */
export async function codeOf(call: () => unknown): Promise<ErrorCode> {
  try {
    await call();
  } catch (e) {
    if (e instanceof AppError) return e.code;
    throw e;
  }
  throw new Error('expected the call to fail with an AppError');
}

export function storeContract(engine: string, factory: StoreFactory): void {
  const setup = async () => {
    const clock = newClock();
    const store = await factory(clock);
    return { clock, store };
  };
  /** Runs `body` on a fresh store and always closes it. */
  const withStore = (body: (s: Store, clock: ContractClock) => Promise<void>) => async () => {
    const { clock, store } = await setup();
    try {
      await body(store, clock);
    } finally {
      await store.close();
    }
  };
  const addProfile = async (s: Store, name: string, over: Partial<ProfileWrite> = {}) => (await s.saveProfile(profileWrite(name, over), 'create')).profile;
  const authorize = async (s: Store, p: string | Profile, tag: string, expiresAt: number, refresh = true) =>
    s.saveTokens(p, tokenSet(tag, expiresAt, refresh), { kind: 'authorization', certificate: { serialHex: '01ab', subject: 'CN=Ion' }, stateEchoed: true });

  describe(`Store contract: ${engine}`, () => {
    it(
      'starts empty',
      withStore(async (s) => {
        expect(await s.listProfiles()).toEqual([]);
        expect(await s.findProfile('a')).toBeUndefined();
        expect(await codeOf(() => s.getProfile('a'))).toBe('PROFILE_NOT_FOUND');
        expect(await s.findToken('a')).toBeUndefined();
        expect(await s.readTokens('a')).toBeUndefined();
        expect((await s.allTokens()).size).toBe(0);
        expect(await s.dueForRefresh()).toEqual([]);
        expect(await s.listApiClients()).toEqual([]);
        expect(await s.apiClientKey('erp')).toBeUndefined();
        await s.checkKey();
      }),
    );

    it(
      'creates profiles once, with a secret and an https callback',
      withStore(async (s) => {
        const saved = await s.saveProfile(profileWrite('b'), 'create');
        expect(saved).toEqual({
          profile: { name: 'b', clientId: 'client-b', redirectUri: 'https://erp.example/callback/b', env: 'test', refreshWindowDays: 14 },
          tokensDropped: false,
        });
        await addProfile(s, 'a');
        expect((await s.listProfiles()).map((p) => p.name)).toEqual(['a', 'b']);
        expect(await s.getProfile('b')).toEqual(saved.profile);
        expect(await codeOf(() => s.saveProfile(profileWrite('b'), 'create'))).toBe('PROFILE_EXISTS');
        expect(await codeOf(() => s.saveProfile(profileWrite('c', { clientSecret: undefined }), 'upsert'))).toBe('SECRET_MISSING');
        expect(await codeOf(() => s.saveProfile(profileWrite('c', { redirectUri: 'http://erp.example/cb' }), 'create'))).toBe('CALLBACK_INVALID');
        expect(await s.findProfile('c')).toBeUndefined();
      }),
    );

    it(
      'opens the client secret only for the server, client ID and callback it was saved with',
      withStore(async (s) => {
        const p = await addProfile(s, 'a');
        expect(await s.clientSecret('a')).toBe('secret-of-a');
        expect(await s.clientSecret(p)).toBe('secret-of-a');
        await s.checkProfile(p);
        for (const moved of [{ env: 'prod' as const }, { clientId: 'other' }, { redirectUri: 'https://evil.example/cb' }]) {
          expect(await codeOf(() => s.clientSecret({ ...p, ...moved }))).toBe('PROFILE_ALTERED');
          expect(await codeOf(() => s.checkProfile({ ...p, ...moved }))).toBe('PROFILE_ALTERED');
        }
        expect(await codeOf(() => s.clientSecret('nobody'))).toBe('PROFILE_NOT_FOUND');
      }),
    );

    it(
      'keeps the secret and tokens on an update that keeps the identity; a new identity needs the secret and drops the tokens',
      withStore(async (s, clock) => {
        await addProfile(s, 'a');
        await authorize(s, 'a', 'g1', clock.now() + 90 * DAY);
        await s.setClientAuthMethod('a', 'post');
        await s.addPendingAuthorization('state-1', 'a', 600_000);

        const kept = await s.saveProfile(profileWrite('a', { clientSecret: undefined, refreshWindowDays: 20 }), 'upsert');
        expect(kept).toEqual({ profile: expect.objectContaining({ refreshWindowDays: 20 }), tokensDropped: false });
        expect(await s.clientSecret('a')).toBe('secret-of-a');
        expect((await s.readTokens('a'))?.accessToken).toBe('access-g1');
        expect(await s.clientAuthMethod('a')).toBe('post');

        expect(await codeOf(() => s.saveProfile(profileWrite('a', { clientSecret: undefined, env: 'prod' }), 'upsert'))).toBe('SECRET_MISSING');
        expect((await s.getProfile('a')).env).toBe('test');

        const moved = await s.saveProfile(profileWrite('a', { env: 'prod', clientSecret: 'new-secret' }), 'upsert');
        expect(moved.tokensDropped).toBe(true);
        expect(moved.profile.env).toBe('prod');
        expect(await s.findToken('a')).toBeUndefined();
        expect(await s.clientAuthMethod('a')).toBeUndefined();
        expect(await s.takePendingAuthorization('state-1', 'a')).toBe(false);
        expect(await s.clientSecret('a')).toBe('new-secret');
      }),
    );

    it(
      'stores an authorization, then each refresh as the next generation',
      withStore(async (s, clock) => {
        const p = await addProfile(s, 'a');
        const t0 = clock.now();
        const first = await authorize(s, p, 'g1', t0 + 90 * DAY);
        expect(first).toMatchObject({
          profile: 'a',
          generation: 1,
          hasRefreshToken: true,
          authorizedAt: t0,
          lastRefreshAt: undefined,
          accessExpiresAt: t0 + 90 * DAY,
          refreshExpiresAt: t0 + 390 * DAY,
          stateEchoed: true,
          deadReason: undefined,
          certificate: { serialHex: '01ab', subject: 'CN=Ion', source: 'jwt' },
        });
        expect(await s.findToken('a')).toEqual(first);
        expect(await s.readTokens('a')).toEqual({ accessToken: 'access-g1', refreshToken: 'refresh-g1', generation: 1 });
        await s.recordFailure('a', 'ANAF_UNAVAILABLE: timeout');
        expect((await s.findToken('a'))?.lastError).toBe('ANAF_UNAVAILABLE: timeout');

        clock.advance(DAY);
        const second = await s.saveTokens('a', tokenSet('g2', clock.now() + 90 * DAY), { kind: 'refresh', certificate: { issuer: 'DigiSign' } });
        expect(second).toMatchObject({
          generation: 2,
          authorizedAt: t0,
          lastRefreshAt: t0 + DAY,
          lastError: undefined,
          lastFailureAt: undefined,
          certificate: { serialHex: '01ab', subject: 'CN=Ion', issuer: 'DigiSign', source: 'jwt' },
        });
        expect(await s.readTokens(p)).toEqual({ accessToken: 'access-g2', refreshToken: 'refresh-g2', generation: 2 });
        expect((await s.allTokens()).get('a')).toEqual(second);
      }),
    );

    it(
      'keeps the newer pair when a refresh based on an older generation comes back late (its lease ran out meanwhile)',
      withStore(async (s, clock) => {
        const p = await addProfile(s, 'late');
        await authorize(s, p, 'g1', clock.now() + 90 * DAY);
        await s.saveTokens('late', tokenSet('g2', clock.now() + 90 * DAY), { kind: 'refresh', certificate: {}, basedOn: 1 });
        // Another process's refresh of generation 1 answers after generation 2 was stored: refused, nothing overwritten.
        expect(await codeOf(() => s.saveTokens('late', tokenSet('g2-late', clock.now() + 90 * DAY), { kind: 'refresh', certificate: {}, basedOn: 1 }))).toBe(
          'REFRESH_BUSY',
        );
        expect(await s.readTokens('late')).toEqual({ accessToken: 'access-g2', refreshToken: 'refresh-g2', generation: 2 });
      }),
    );

    it(
      'refuses tokens obtained for an identity the profile no longer has, and tokens of no profile',
      withStore(async (s, clock) => {
        const p = await addProfile(s, 'a');
        expect(await codeOf(() => authorize(s, { ...p, clientId: 'other' }, 'x', clock.now() + DAY))).toBe('NO_TOKEN');
        expect(await s.findToken('a')).toBeUndefined();
        expect(await codeOf(() => authorize(s, 'nobody', 'x', clock.now() + DAY))).toBe('PROFILE_NOT_FOUND');
        await authorize(s, p, 'g1', clock.now() + DAY);
        expect(await codeOf(() => s.readTokens({ ...p, redirectUri: 'https://evil.example/cb' }))).toBe('PROFILE_ALTERED');
      }),
    );

    it(
      'names certificates, marks grants dead and deletes tokens',
      withStore(async (s, clock) => {
        await addProfile(s, 'a');
        expect(await codeOf(() => s.setCertificateLabel('a', 'Ion'))).toBe('NO_TOKEN');
        expect(await codeOf(() => s.setCertificateLabel('nobody', 'Ion'))).toBe('PROFILE_NOT_FOUND');
        await s.saveTokens('a', tokenSet('g1', clock.now() + DAY), { kind: 'authorization', certificate: {}, stateEchoed: false });
        expect((await s.findToken('a'))?.stateEchoed).toBe(false);
        await s.setCertificate('a', { subject: 'CN=Maria', serialHex: '02', sha256: 'ab', source: 'only-certificate' });
        await s.setCertificateLabel('a', 'Maria pe cheia USB');
        expect((await s.findToken('a'))?.certificate).toEqual({
          subject: 'CN=Maria',
          serialHex: '02',
          sha256: 'ab',
          source: 'only-certificate',
          label: 'Maria pe cheia USB',
          issuer: undefined,
          roles: undefined,
        });
        // A holder once named stays: a second setCertificate changes nothing.
        await s.setCertificate('a', { subject: 'CN=Other' });
        expect((await s.findToken('a'))?.certificate.subject).toBe('CN=Maria');
        // A refresh keeps the user's facts; an unrecorded state stays unrecorded.
        clock.advance(1000);
        const r = await s.saveTokens('a', tokenSet('g2', clock.now() + DAY), { kind: 'refresh', certificate: {} });
        expect(r.certificate.label).toBe('Maria pe cheia USB');
        expect(r.stateEchoed).toBe(false);

        await s.markDead('a', 'invalid_grant');
        expect(await s.findToken('a')).toMatchObject({ deadReason: 'invalid_grant', lastError: 'invalid_grant', lastFailureAt: clock.now() });
        expect(await s.deleteTokens('a')).toBe(true);
        expect(await s.deleteTokens('a')).toBe(false);
        expect(await s.findToken('a')).toBeUndefined();
      }),
    );

    it(
      'lists as due the live grants inside their refresh window',
      withStore(async (s, clock) => {
        const now = clock.now();
        await addProfile(s, 'soon', { refreshWindowDays: 14 });
        await addProfile(s, 'later', { refreshWindowDays: 14 });
        await addProfile(s, 'wide', { refreshWindowDays: 30 });
        await addProfile(s, 'expired');
        await addProfile(s, 'dead');
        await addProfile(s, 'norefresh');
        await authorize(s, 'soon', 's', now + 10 * DAY);
        await authorize(s, 'later', 'l', now + 20 * DAY);
        await authorize(s, 'wide', 'w', now + 21 * DAY);
        await authorize(s, 'expired', 'e', now - DAY);
        await authorize(s, 'dead', 'd', now + DAY);
        await s.markDead('dead', 'invalid_grant');
        await authorize(s, 'norefresh', 'n', now + DAY, false);
        expect(await s.dueForRefresh(now)).toEqual(['expired', 'soon', 'wide']);
        expect(await s.dueForRefresh()).toEqual(['expired', 'soon', 'wide']);
        expect(await s.dueForRefresh(now + 6 * DAY)).toEqual(['expired', 'soon', 'later', 'wide']);
        // The window follows a change of the profile's.
        await s.saveProfile(profileWrite('later', { clientSecret: undefined, refreshWindowDays: 25 }), 'upsert');
        expect(await s.dueForRefresh(now)).toEqual(['expired', 'soon', 'later', 'wide']);
      }),
    );

    it(
      'pages through profiles in name order with their tokens',
      withStore(async (s, clock) => {
        for (const n of ['d', 'B', 'a', 'c', 'A']) await addProfile(s, n);
        await authorize(s, 'c', 'c', clock.now() + DAY);
        const first = await s.profilePage(undefined, 2);
        expect(first.map((r) => r.profile.name)).toEqual(['A', 'B']);
        const second = await s.profilePage('B', 2);
        expect(second.map((r) => r.profile.name)).toEqual(['a', 'c']);
        expect(second[1]?.token?.generation).toBe(1);
        expect(second[0]?.token).toBeUndefined();
        expect((await s.profilePage('c', 2)).map((r) => r.profile.name)).toEqual(['d']);
        expect(await s.profilePage('d', 2)).toEqual([]);
      }),
    );

    it(
      'removes a profile with its tokens and pending authorizations',
      withStore(async (s, clock) => {
        await addProfile(s, 'a');
        await authorize(s, 'a', 'g1', clock.now() + DAY);
        await s.addPendingAuthorization('st', 'a', 60_000);
        expect(await s.removeProfile('a')).toBe(true);
        expect(await s.removeProfile('a')).toBe(false);
        expect(await s.findProfile('a')).toBeUndefined();
        expect(await s.findToken('a')).toBeUndefined();
        await addProfile(s, 'a');
        expect(await s.takePendingAuthorization('st', 'a')).toBe(false);
      }),
    );

    it(
      'remembers how ANAF took the client credentials',
      withStore(async (s) => {
        await addProfile(s, 'a');
        expect(await s.clientAuthMethod('a')).toBeUndefined();
        await s.setClientAuthMethod('a', 'basic');
        expect(await s.clientAuthMethod('a')).toBe('basic');
        expect(await s.clientAuthMethod('nobody')).toBeUndefined();
      }),
    );

    it(
      'opens a pending authorization at most once, for its profile, before it expires',
      withStore(async (s, clock) => {
        await addProfile(s, 'a');
        await addProfile(s, 'b');
        expect(await s.addPendingAuthorization('s1', 'a', 60_000)).toBe(clock.now() + 60_000);
        expect(await s.takePendingAuthorization('s1', 'b')).toBe(false);
        expect(await s.takePendingAuthorization('s1', 'a')).toBe(true);
        expect(await s.takePendingAuthorization('s1', 'a')).toBe(false);
        await s.addPendingAuthorization('s2', 'a', 60_000);
        clock.advance(60_001);
        expect(await s.takePendingAuthorization('s2', 'a')).toBe(false);

        const since = clock.now();
        await s.addPendingAuthorization('s3', 'a', 60_000);
        expect(await s.takeOnlyRecentPending('a', since)).toBe(true);
        expect(await s.takeOnlyRecentPending('a', since)).toBe(false);
        await s.addPendingAuthorization('s4', 'a', 60_000);
        await s.addPendingAuthorization('s5', 'a', 60_000);
        expect(await s.takeOnlyRecentPending('a', since)).toBe(false); // two: which one answered is unknown
        expect(await s.takePendingAuthorization('s4', 'a')).toBe(true);
      }),
    );

    it(
      'gives a lease to one owner at a time until it is released or its time is up',
      withStore(async (s, clock) => {
        expect(await s.leaseActive('refresh:a')).toBe(false);
        expect(await s.tryAcquireLease('refresh:a', 'one', 60_000)).toBe(true);
        expect(await s.leaseActive('refresh:a')).toBe(true);
        expect(await s.tryAcquireLease('refresh:a', 'two', 60_000)).toBe(false);
        expect(await s.tryAcquireLease('refresh:a', 'one', 60_000)).toBe(true); // renewed
        expect(await s.tryAcquireLease('refresh:b', 'two', 60_000)).toBe(true);
        await s.releaseLease('refresh:a', 'two'); // not its lease: nothing
        expect(await s.tryAcquireLease('refresh:a', 'two', 60_000)).toBe(false);
        await s.releaseLease('refresh:a', 'one');
        expect(await s.leaseActive('refresh:a')).toBe(false);
        expect(await s.tryAcquireLease('refresh:a', 'two', 60_000)).toBe(true);
        await s.releaseLease('refresh:a', 'two');
        await s.releaseLease('refresh:b', 'two');

        // Its time up (on the store's clock, or the real one), a lease goes to the next owner.
        expect(await s.tryAcquireLease('refresh:c', 'one', 300)).toBe(true);
        clock.advance(301);
        await new Promise((r) => setTimeout(r, 400));
        expect(await s.tryAcquireLease('refresh:c', 'two', 60_000)).toBe(true);
        await s.releaseLease('refresh:c', 'two');
      }),
    );

    it(
      'keeps ERP client keys with their scope, once per name',
      withStore(async (s, clock) => {
        const added = await s.addApiClient('erp', 'k'.repeat(43), { personalId: true, profiles: ['a', 'b'] });
        expect(added).toEqual({
          name: 'erp',
          createdAt: clock.now(),
          lastUsedAt: undefined,
          personalId: true,
          profiles: ['a', 'b'],
          oldKey: false,
          replacedOldKey: false,
        });
        await s.addApiClient('all', 'z'.repeat(43));
        expect(await codeOf(() => s.addApiClient('erp', 'x'.repeat(43)))).toBe('CLIENT_EXISTS');
        expect(await s.listApiClients()).toEqual([
          { name: 'all', createdAt: clock.now(), lastUsedAt: undefined, personalId: false, profiles: undefined, oldKey: false },
          { name: 'erp', createdAt: clock.now(), lastUsedAt: undefined, personalId: true, profiles: ['a', 'b'], oldKey: false },
        ]);
        const key = await s.apiClientKey('erp');
        expect(key).toEqual({ name: 'erp', state: 'ok', key: Buffer.from('k'.repeat(43)), lastUsedAt: undefined, personalId: true, profiles: ['a', 'b'] });
        expect((await s.apiClientKey('all'))?.profiles).toBeUndefined();

        clock.advance(5000);
        await s.touchApiClient('erp');
        expect((await s.apiClientKey('erp'))?.lastUsedAt).toBe(clock.now());
        await s.touchApiClient('erp', clock.now() + 1);
        expect((await s.listApiClients()).find((c) => c.name === 'erp')?.lastUsedAt).toBe(clock.now() + 1);

        expect(await s.removeApiClient('erp')).toBe(true);
        expect(await s.removeApiClient('erp')).toBe(false);
        expect(await s.apiClientKey('erp')).toBeUndefined();
      }),
    );

    it(
      'keeps the audit newest first, filtered by profile, client and time',
      withStore(async (s, clock) => {
        const t = clock.now();
        const entry = (i: number, profile: string, client: string, action: 'token' | 'refused' = 'token') => ({
          at: t + i * 1000,
          profile,
          client,
          generation: i,
          host: 'ws1',
          osUser: 'contabil',
          action,
        });
        await s.recordAudit(entry(1, 'a', 'erp'));
        await s.recordAudit(entry(2, 'b', 'erp'));
        await s.recordAudit(entry(3, 'a', 'cli'));
        await s.recordAudit(entry(4, 'b', 'extension', 'refused'));
        expect((await s.audit({ limit: 10 })).map((e) => e.generation)).toEqual([4, 3, 2, 1]);
        expect(await s.audit({ limit: 1 })).toEqual([entry(4, 'b', 'extension', 'refused')]);
        expect((await s.audit({ profile: 'a', limit: 10 })).map((e) => e.generation)).toEqual([3, 1]);
        expect((await s.audit({ client: 'erp', limit: 10 })).map((e) => e.generation)).toEqual([2, 1]);
        expect((await s.audit({ since: t + 2000, limit: 10 })).map((e) => e.generation)).toEqual([4, 3, 2]);
        expect((await s.audit({ profile: 'b', client: 'erp', since: t, limit: 10 })).map((e) => e.generation)).toEqual([2]);
      }),
    );

    it(
      'changes its read epoch when it writes',
      withStore(async (s, clock) => {
        await addProfile(s, 'a');
        const e0 = s.readEpoch();
        await authorize(s, 'a', 'g1', clock.now() + DAY);
        const e1 = s.readEpoch();
        expect(e1).not.toBe(e0);
        // What it reads after its own write is the write.
        expect((await s.findToken('a'))?.generation).toBe(1);
        await s.saveTokens('a', tokenSet('g2', clock.now() + DAY), { kind: 'refresh', certificate: {} });
        expect(s.readEpoch()).not.toBe(e1);
        expect((await s.findToken('a'))?.generation).toBe(2);
        expect((await s.readTokens('a'))?.accessToken).toBe('access-g2');
      }),
    );
  });
}
