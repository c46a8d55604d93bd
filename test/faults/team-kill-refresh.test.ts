/**
 * kill -9 of the refresher on a team store: three machines on one real PostgreSQL (each its own
 * home and key store, helpers/team-machines.ts); on one of them `anaf-token refresh` runs while the
 * ANAF stand-in holds its token answer, and is killed with SIGKILL at a random point: while it
 * starts, while ANAF holds the request, or just after ANAF answered. After every kill the store
 * must hold one whole pair ANAF issued, and the next refresh from another machine (`anaf-token
 * refresh` there) must succeed at ANAF: the killed process's lease is taken over. A grant is lost only inside ANAF's own rotation
 * window: the request reached ANAF, which rotates even when its sender is gone (the old refresh
 * token is used up), and the process died before storing the new pair. Such cases are counted,
 * proved (the next refresh finds the grant dead) and reported.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TeamStore } from '../../native-host/src/team/team-store.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { CLI, transcript } from '../helpers/cli.js';
import { reportFaults } from '../helpers/fault-summary.js';
import { startPostgres, type Pg } from '../helpers/postgres.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { addProfile, authorizeOn, setUpTeam, type Machine, type Team } from '../helpers/team-machines.js';
import { tempDir } from '../helpers/temp.js';
import { makePki, type Pki } from '../pki/make-pki.js';

const KILLS = Number(process.env.TEAM_CRASH_KILLS ?? 100);
/** How long the stand-in holds each token request before it processes and answers it. */
const HOLD_MS = 250;
const CLIENT = { clientId: 'team-crash-client', clientSecret: 'team-crash-secret-0123456789', redirectUri: 'https://erp.example.ro/cb' };

let pg: Pg;
let pki: Pki;
let anaf: AnafStandin;
let team: Team;

beforeAll(async () => {
  [pg, pki] = await Promise.all([startPostgres(), makePki(tempDir('pki'))]);
  anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret, redirectUris: [CLIENT.redirectUri] }] });
  team = await setUpTeam({ pg, db: 'crash', names: ['A', 'B', 'C'], caFile: pki.ca.certFile });
  await addProfile(team.machines[0]!, 'firma', CLIENT, anaf.url);
  await authorizeOn(team.machines[0]!, 'firma', anaf, pki);
}, 120_000);

afterAll(async () => {
  const logs = (team?.machines ?? [])
    .map((m) => path.join(m.home, 'logs', 'anaf-token.log'))
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f, 'utf8'));
  const hits = anaf
    ? scanForSecrets([...logs, ...transcript], [CLIENT.clientSecret, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens, ...anaf.issued.codes])
    : [];
  if (anaf) {
    reportFaults({
      group: 'secrets-team-kill-refresh',
      tried: logs.length + transcript.length,
      refused: 0,
      crashed: 0,
      lost: hits.length,
      note: `machine logs and CLI output scanned for ${anaf.issued.accessTokens.length * 2} issued tokens`,
    });
  }
  await anaf?.close();
  await pg?.destroy();
  expect(hits).toEqual([]);
});

type KillPoint = 'starting' | 'held at ANAF' | 'after ANAF answered';

/** `anaf-token refresh` on machine `m`, killed with SIGKILL at `point` (a random moment within it). */
async function refreshKilled(m: Machine, point: KillPoint): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  const requestsBefore = anaf.counters.grants.refresh_token;
  const issuedBefore = anaf.issued.accessTokens.length;
  const child = spawn(process.execPath, [CLI, 'refresh', '--profile', 'firma'], { env: { ...process.env, ...m.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<{ signal: NodeJS.Signals | null; code: number | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let exited = false;
  void closed.then(() => (exited = true));
  const waitFor = async (ok: () => boolean) => {
    while (!ok() && !exited) await sleep(1);
  };
  if (point === 'starting') {
    await sleep(Math.random() * 700);
  } else if (point === 'held at ANAF') {
    await waitFor(() => anaf.counters.grants.refresh_token > requestsBefore);
    await sleep(Math.random() * HOLD_MS);
  } else {
    // The stand-in pushes the pair to `issued` as it answers: from then on the old refresh token is used up.
    await waitFor(() => anaf.issued.accessTokens.length > issuedBefore);
    await sleep(Math.random() * 30);
  }
  child.kill('SIGKILL');
  const result = await closed;
  // A request that reached ANAF is processed there even though its sender died (as ANAF does):
  // wait until the stand-in has answered it before judging what was lost.
  if (anaf.counters.grants.refresh_token > requestsBefore) await sleep(HOLD_MS + 200);
  return { ...result, stderr };
}

/** The pair the team store holds now, read as a fourth machine would (a fresh connection, nothing remembered). */
async function storedPair(
  key: Buffer,
): Promise<{ access: string | undefined; refresh: string | undefined; generation: number | undefined; dead: string | undefined }> {
  const s = await TeamStore.connect({ url: team.url, teamKey: key });
  try {
    const t = await s.readTokens('firma');
    const rec = await s.findToken('firma');
    return { access: t?.accessToken, refresh: t?.refreshToken, generation: rec?.generation, dead: rec?.deadReason };
  } finally {
    await s.close();
  }
}

describe('kill -9 of the refresher on a team store', () => {
  it(`keeps a whole pair, loses no grant beyond ANAF's rotation window, and lets another machine refresh next, through ${KILLS} SIGKILLs`, async () => {
    const key = team.machines[0]!.teamKey();
    const points: KillPoint[] = ['starting', 'held at ANAF', 'after ANAF answered'];
    const byPoint = new Map<KillPoint, number>(points.map((p) => [p, 0]));
    const rotationAt = new Map<KillPoint, number>(points.map((p) => [p, 0]));
    let kills = 0;
    let finishedFirst = 0;
    let crashed = 0;
    let inconsistent = 0;
    let lost = 0;
    let rotationWindow = 0;
    let followUpFailures = 0;
    let slowestFollowUpMs = 0;
    let lastGeneration = 0;
    let tried = 0;
    // Until KILLS processes were killed (a run that finished before its kill does not count).
    for (let i = 0; kills < KILLS && i < KILLS * 2; i++) {
      tried++;
      const victim = team.machines[i % 3]!;
      const next = team.machines[(i + 1) % 3]!;
      // More weight where the window is: while ANAF holds the request, and right after it answered.
      const point = points[[0, 1, 1, 2, 2][Math.floor(Math.random() * 5)]!]!;
      const issuedBefore = anaf.issued.accessTokens.length;
      anaf.setFaults({ delayMs: HOLD_MS, endpoints: ['token'] });
      const r = await refreshKilled(victim, point);
      anaf.clearFaults();
      if (r.signal === 'SIGKILL') {
        kills++;
        byPoint.set(point, byPoint.get(point)! + 1);
      } else if (r.code === 0) finishedFirst++;
      else {
        crashed++;
        process.stderr.write(`refresh on ${victim.name} exited ${r.code} by itself: ${r.stderr}\n`);
      }

      const pair = await storedPair(key);
      const at = anaf.issued.accessTokens.indexOf(pair.access ?? '');
      // One answer of ANAF, whole: its access and its refresh token together.
      const whole = at >= 0 && anaf.issued.refreshTokens[at] === pair.refresh;
      if (!whole) inconsistent++;
      expect(whole, `kill ${i} (${point})`).toBe(true);
      expect(pair.generation!).toBeGreaterThanOrEqual(lastGeneration);
      lastGeneration = pair.generation!;
      const latest = anaf.issued.accessTokens.length - 1;
      if (at !== latest) {
        if (latest === issuedBefore && at === issuedBefore - 1) {
          // ANAF answered the killed process, which died before storing: the old refresh token is
          // used up at ANAF. The next refresh must find the grant dead (the store says so), and the
          // user authorizes again with the USB key.
          rotationWindow++;
          rotationAt.set(point, rotationAt.get(point)! + 1);
          const dead = await next.cli(['refresh', '--profile', 'firma'], undefined, true);
          expect([dead.code === 0, /TOKEN_DEAD/.test(dead.stderr)], `kill ${i}`).toEqual([false, true]);
          await authorizeOn(next, 'firma', anaf, pki);
          lastGeneration = (await storedPair(key)).generation!;
        } else {
          lost++;
          process.stderr.write(`kill ${i} (${point}): the store holds pair ${at} of ${latest + 1} issued (${issuedBefore} before this kill)\n`);
        }
      }

      // The next refresh, from another machine: at once, though the killed process held the lease.
      // `anaf-token refresh` there (the user's own: always asks ANAF): one more refresh at ANAF.
      const refreshesBefore = anaf.counters.grants.refresh_token;
      const t0 = performance.now();
      const follow = await next.cli(['refresh', '--profile', 'firma'], undefined, true);
      slowestFollowUpMs = Math.max(slowestFollowUpMs, performance.now() - t0);
      if (follow.code !== 0 || anaf.counters.grants.refresh_token !== refreshesBefore + 1) {
        followUpFailures++;
        process.stderr.write(
          `refresh on ${next.name} after kill ${i} (${point}) exited ${follow.code}: ${follow.stderr}; ${anaf.counters.grants.refresh_token - refreshesBefore} refreshes at ANAF\n`,
        );
      }
      const after = await storedPair(key);
      expect(after.access).toBe(anaf.issued.accessTokens.at(-1));
      lastGeneration = after.generation!;
    }
    reportFaults({
      group: 'team-kill-refresh',
      tried,
      refused: 0,
      crashed,
      lost,
      note:
        `${kills} SIGKILLs over 3 machines on one PostgreSQL (${[...byPoint].map(([p, n]) => `${n} ${p}`).join(', ')}), ${finishedFirst} finished before the kill; ` +
        `${rotationWindow} inside ANAF's rotation window: ANAF rotated for a process that died before its commit (${[...rotationAt].map(([p, n]) => `${n} ${p}`).join(', ')}; each found dead by the next refresh and re-authorized); ` +
        `${inconsistent} mixed pairs; next refresh from another machine failed ${followUpFailures} times, slowest ${Math.round(slowestFollowUpMs)} ms`,
    });
    expect(crashed).toBe(0);
    expect(inconsistent).toBe(0);
    expect(lost).toBe(0);
    expect(followUpFailures).toBe(0);
    expect(kills).toBe(KILLS);
  }, 1_200_000);
});
