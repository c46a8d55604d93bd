/** Twenty processes want the same due token at once: ANAF sees one refresh, all twenty get its token. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { reportFaults } from '../helpers/fault-summary.js';
import { faultWorld, type FaultWorld } from './fixture.js';

const PROCESSES = 20;
let w: FaultWorld;

beforeAll(async () => {
  w = await faultWorld();
  w.anaf.setOptions({ accessTokenTtlSec: 10 * 86_400 }); // inside the 14-day window: due at once
  await w.addProfile();
  await w.authorize();
});

afterAll(async () => {
  const { scanned, hits } = await w.close();
  reportFaults({
    group: 'secrets-concurrency',
    tried: scanned,
    refused: 0,
    crashed: 0,
    lost: hits.length,
    note: 'texts scanned for issued tokens, codes, secrets',
  });
  expect(hits).toEqual([]);
});

describe('concurrency', () => {
  it(`lets one of ${PROCESSES} processes refresh and hands all of them the new token`, async () => {
    w.anaf.resetCounters();
    w.anaf.setFaults({ delayMs: 400, endpoints: ['token'] });
    const results = await Promise.all(Array.from({ length: PROCESSES }, () => runCli(['token', '--profile', 'firma', '--json'], w.env)));
    w.anaf.clearFaults();
    const tokens = results.map((r) => (r.code === 0 ? (JSON.parse(r.stdout) as { accessToken: string }).accessToken : `exit ${r.code}: ${r.stderr}`));
    const newest = w.anaf.issued.accessTokens.at(-1);
    const lost = tokens.filter((t) => t !== newest).length;
    reportFaults({
      group: 'concurrency',
      tried: PROCESSES,
      refused: 0,
      crashed: results.filter((r) => r.code !== 0).length,
      lost,
      note: `${w.anaf.counters.grants.refresh_token} refresh request(s) reached ANAF`,
    });
    expect(results.map((r) => r.code)).toEqual(Array(PROCESSES).fill(0));
    expect(w.anaf.counters.grants.refresh_token).toBe(1);
    expect(new Set(tokens)).toEqual(new Set([newest]));
  }, 180_000);
});
