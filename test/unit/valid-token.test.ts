/**
 * validAccessToken: the one rule by which the CLI's `token` and the ERP service hand out an
 * access token. The refresh itself is injected here; the stand-in tests (faults, serve) run it
 * against a real ANAF stand-in.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError } from '#shared/index.js';
import { createLogger } from '../../native-host/src/log/logger.js';
import { validAccessToken } from '../../native-host/src/tokens/grant.js';
import { Vault } from '../../native-host/src/vault/vault.js';
import { tempPaths } from '../helpers/temp.js';

const DAY = 86_400_000;
const env = { ANAF_TOKEN_KEYSTORE: 'file' };

function setup(accessDays: number) {
  let t = Date.now();
  const now = () => t;
  const paths = tempPaths('valid-token');
  const vault = Vault.open({ paths, env, now });
  vault.saveProfile(
    { name: 'p', clientId: 'c', clientSecret: 's', redirectUri: 'https://erp.example.ro/cb', env: 'https://127.0.0.1:9', refreshWindowDays: 14 },
    'create',
  );
  vault.saveTokens(
    'p',
    { accessToken: 'old', refreshToken: 'r', accessExpiresAt: t + accessDays * DAY, refreshExpiresAt: t + 300 * DAY },
    { kind: 'authorization', certificate: {}, stateEchoed: true },
  );
  const log = createLogger({ component: 'test', file: paths.logFile });
  return { store: vault, log, now, paths, advance: (ms: number) => (t += ms) };
}

describe('validAccessToken', () => {
  it('hands out a token that is not due without refreshing it', async () => {
    const { store: vault, log, now } = setup(60);
    let calls = 0;
    const g = await validAccessToken({ store: vault, log, now }, 'p', { refresh: async () => void calls++ });
    expect(g).toMatchObject({ profile: 'p', accessToken: 'old', generation: 1 });
    expect(calls).toBe(0);
    vault.close();
  });

  it('refreshes a due token and hands out the new one', async () => {
    const { store: vault, log, now } = setup(3);
    const g = await validAccessToken({ store: vault, log, now }, 'p', {
      refresh: async () => {
        vault.saveTokens(
          'p',
          { accessToken: 'new', refreshToken: 'r2', accessExpiresAt: now() + 90 * DAY, refreshExpiresAt: now() + 365 * DAY },
          { kind: 'refresh', certificate: {} },
        );
      },
    });
    expect(g).toMatchObject({ accessToken: 'new', generation: 2, expiresAt: now() + 90 * DAY });
    vault.close();
  });

  it('with ANAF down, hands out the stored token while it lasts a minute, then says TOKEN_EXPIRED and why', async () => {
    const { store: vault, log, now, advance, paths } = setup(3);
    const down = async () => {
      throw new AppError('ANAF_UNAVAILABLE', 'HTTP 503');
    };
    expect(await validAccessToken({ store: vault, log, now }, 'p', { refresh: down })).toMatchObject({ accessToken: 'old', generation: 1 });
    expect(fs.readFileSync(paths.logFile, 'utf8')).toContain('token.served-stale');
    advance(3 * DAY - 30_000);
    await expect(validAccessToken({ store: vault, log, now }, 'p', { refresh: down })).rejects.toMatchObject({
      code: 'TOKEN_EXPIRED',
      detail: 'ANAF_UNAVAILABLE: HTTP 503',
    });
    vault.close();
  });

  it('does not try a refresh that is held back, and passes on errors no retry can fix', async () => {
    const { store: vault, log, now } = setup(3);
    let calls = 0;
    const held = await validAccessToken({ store: vault, log, now }, 'p', {
      refresh: async () => void calls++,
      heldBack: () => new AppError('ANAF_UNAVAILABLE', 'retry in 30 s'),
    });
    expect(held).toMatchObject({ accessToken: 'old', generation: 1 });
    expect(calls).toBe(0);
    const dead = async () => {
      throw new AppError('TOKEN_DEAD', 'invalid_grant');
    };
    await expect(validAccessToken({ store: vault, log, now }, 'p', { refresh: dead })).rejects.toMatchObject({ code: 'TOKEN_DEAD' });
    await expect(validAccessToken({ store: vault, log, now }, 'nobody')).rejects.toMatchObject({ code: 'PROFILE_NOT_FOUND' });
    vault.markDead('p', 'revoked');
    await expect(validAccessToken({ store: vault, log, now }, 'p')).rejects.toMatchObject({ code: 'TOKEN_DEAD', detail: 'revoked' });
    vault.close();
  });
});
