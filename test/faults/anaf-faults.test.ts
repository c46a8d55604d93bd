/**
 * ANAF misbehaving during the code exchange and the refresh: 5xx, no answer in time, garbage,
 * a dropped connection, and a lost answer after ANAF already rotated. Each ends in a typed
 * error; a stored token is never replaced by nothing; invalid_grant marks the token dead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '#shared/index.js';
import type { Faults } from '../anaf-standin/server.js';
import { openAuthorize } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { reportFaults } from '../helpers/fault-summary.js';
import { faultWorld, type FaultWorld } from './fixture.js';

let w: FaultWorld;
const tally = { tried: 0, refused: 0, crashed: 0, lost: 0 };

const FAULTS: [string, Faults][] = [
  ['503', { status: 503 }],
  ['500', { status: 500 }],
  ['timeout', { delayMs: 4_000 }],
  ['garbage', { malformedJson: true }],
  ['dropped', { dropConnection: true }],
];

beforeAll(async () => {
  w = await faultWorld();
  // A short HTTP deadline so that the "timeout" fault is one.
  w.env = { ...w.env, ANAF_TOKEN_HTTP_TIMEOUT_MS: '1500' };
  await w.addProfile();
  await w.authorize();
});

afterAll(async () => {
  const { scanned, hits } = await w.close();
  reportFaults({ group: 'anaf-faults', ...tally });
  reportFaults({
    group: 'secrets-anaf-faults',
    tried: scanned,
    refused: 0,
    crashed: 0,
    lost: hits.length,
    note: 'texts scanned for issued tokens, codes, secrets',
  });
  expect(hits).toEqual([]);
});

async function stored(): Promise<{ state: string; accessExpiresAt?: string; lastRefreshAt?: string }> {
  return (JSON.parse((await runCli(['list', '--json'], w.env)).stdout) as { state: string }[])[0]!;
}

function expectTyped(r: { code: number; stdout: string }, codes: string[]): void {
  expect(r.code).not.toBe(0);
  const err = (JSON.parse(r.stdout) as { error: { code: string } }).error;
  expect(ERROR_CODES).toContain(err.code);
  expect(codes).toContain(err.code);
}

describe('ANAF faults', () => {
  for (const [name, fault] of FAULTS) {
    it(`refresh with ${name}: typed error, the old token kept and still good`, async () => {
      const before = await stored();
      const tokenBefore = (JSON.parse((await runCli(['token', '--profile', 'firma', '--json'], w.env)).stdout) as { accessToken: string }).accessToken;
      w.anaf.setFaults(fault);
      const r = await runCli(['refresh', '--profile', 'firma', '--json'], w.env);
      w.anaf.clearFaults();
      tally.tried++;
      expectTyped(r, ['ANAF_UNAVAILABLE', 'ANAF_BAD_RESPONSE']);
      tally.refused++;
      const after = await stored();
      const tokenAfter = (JSON.parse((await runCli(['token', '--profile', 'firma', '--json'], w.env)).stdout) as { accessToken: string }).accessToken;
      if (tokenAfter !== tokenBefore || after.accessExpiresAt !== before.accessExpiresAt) tally.lost++;
      expect(tokenAfter).toBe(tokenBefore);
      expect(after.state).toBe('valid');
      // The kept refresh token still works once ANAF is back.
      expect((await runCli(['refresh', '--profile', 'firma'], w.env)).code).toBe(0);
    });

    it(`code exchange with ${name}: typed error, the earlier token untouched`, async () => {
      const tokenBefore = (JSON.parse((await runCli(['token', '--profile', 'firma', '--json'], w.env)).stdout) as { accessToken: string }).accessToken;
      const start = JSON.parse((await runCli(['authorize', '--profile', 'firma', '--json'], w.env)).stdout) as { authorizeUrl: string };
      const res = await openAuthorize(start.authorizeUrl, w.pki.ca.certPem, w.pki.client);
      w.anaf.setFaults({ ...fault, endpoints: ['token'] });
      const r = await runCli(['authorize', '--profile', 'firma', '--callback-url', '--json'], w.env, `${res.location!}\n`);
      w.anaf.clearFaults();
      tally.tried++;
      expectTyped(r, ['ANAF_UNAVAILABLE', 'ANAF_BAD_RESPONSE']);
      tally.refused++;
      const tokenAfter = (JSON.parse((await runCli(['token', '--profile', 'firma', '--json'], w.env)).stdout) as { accessToken: string }).accessToken;
      if (tokenAfter !== tokenBefore) tally.lost++;
      expect(tokenAfter).toBe(tokenBefore);
    });
  }

  it('an answer lost after ANAF rotated: the old pair is kept, the next refresh learns it is dead', async () => {
    w.anaf.setFaults({ dropConnection: true, afterProcessing: true, endpoints: ['token'] });
    const r = await runCli(['refresh', '--profile', 'firma', '--json'], w.env);
    w.anaf.clearFaults();
    tally.tried++;
    expectTyped(r, ['ANAF_UNAVAILABLE']);
    tally.refused++;
    expect((await stored()).state).toBe('valid'); // the access token itself still works
    const next = await runCli(['refresh', '--profile', 'firma', '--json'], w.env);
    tally.tried++;
    expectTyped(next, ['TOKEN_DEAD']);
    tally.refused++;
    expect((await stored()).state).toBe('dead');
    expect(JSON.parse(next.stdout).causes.length).toBeGreaterThan(0);
    await w.authorize(); // the way back: the USB key
    expect((await stored()).state).toBe('valid');
  });
});
