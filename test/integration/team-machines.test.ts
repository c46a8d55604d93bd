/**
 * Three machines of one firm on one team store (a real PostgreSQL, helpers/postgres.ts), each with
 * its own home and file key store, set up through the CLI (helpers/team-machines.ts), each running
 * its own `anaf-token serve` for the ERP, all against the mTLS ANAF stand-in: a token obtained on
 * one is served by all; a burst across the three while the token is due makes one refresh at ANAF;
 * PostgreSQL stopped and started again; a row edited in the database; the refresh scheduler of the
 * three serves over many due grants.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorResponseSchema, tokenResponseSchema } from '../../native-host/src/serve/api.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { transcript } from '../helpers/cli.js';
import { startPostgres, type Pg } from '../helpers/postgres.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { erp, erpAnswers, type ClientCredential, type ServeProcess } from '../helpers/serve-process.js';
import { addProfile, authorizeOn, seedGrants, setUpTeam, type Team } from '../helpers/team-machines.js';
import { tempDir } from '../helpers/temp.js';
import { makePki, type Pki } from '../pki/make-pki.js';

const CLIENT = {
  clientId: 'team-client',
  clientSecret: `team-secret-${Math.random().toString(36).slice(2)}`,
  redirectUri: 'https://erp.example.ro/anaf/callback',
};
const DAY = 86_400;
/** Due grants the scheduler test refreshes (the bench runs 10,000). */
const SCHEDULED = Number(process.env.TEAM_SCHEDULER_PROFILES ?? 300);

let pg: Pg;
let pki: Pki;
let anaf: AnafStandin;
let team: Team;
let cred: ClientCredential;
const clientKeys: string[] = [];
const serveOutput: string[] = [];
/** Every machine's home, for the scan of their logs. */
const homes: string[] = [];

const tokenOf = (a: { json: unknown }) => tokenResponseSchema.parse(a.json);
const errorOf = (a: { json: unknown }) => errorResponseSchema.parse(a.json).error;

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 15_000, stepMs = 50): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await ok()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

async function serveAll(t: Team, args?: string[]): Promise<ServeProcess[]> {
  return Promise.all(t.machines.map((m) => m.serve(args)));
}

async function newKey(name: string): Promise<ClientCredential> {
  const r = await team.machines[0]!.cli(['clients', 'add', name, '--json']);
  const key = (JSON.parse(r.stdout) as { key: string }).key;
  clientKeys.push(key);
  return { name, key };
}

beforeAll(async () => {
  [pg, pki] = await Promise.all([startPostgres(), makePki(tempDir('pki'))]);
  anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret, redirectUris: [CLIENT.redirectUri] }] });
  team = await setUpTeam({ pg, db: 'firm', names: ['A', 'B', 'C'], caFile: pki.ca.certFile });
  homes.push(...team.machines.map((m) => m.home));
  cred = await newKey('erp');
}, 120_000);

afterEach(async () => {
  anaf.clearFaults();
  for (const s of team.serves) serveOutput.push(s.output().stdout, s.output().stderr);
  await team.stopServes();
});

afterAll(async () => {
  // Nothing but a token answer carries a token; nothing at all a refresh token, a secret or a client key.
  const tokenAnswers = erpAnswers.filter((a) => a.includes('"accessToken"'));
  const otherAnswers = erpAnswers.filter((a) => !a.includes('"accessToken"'));
  const everything = [
    CLIENT.clientSecret,
    ...clientKeys,
    ...(anaf?.issued.accessTokens ?? []),
    ...(anaf?.issued.refreshTokens ?? []),
    ...(anaf?.issued.codes ?? []),
  ];
  const logs = homes
    .map((h) => path.join(h, 'logs', 'anaf-token.log'))
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f, 'utf8'));
  const hits = anaf
    ? [
        ...scanForSecrets([...logs, ...otherAnswers, ...serveOutput, ...transcript], everything),
        ...scanForSecrets(tokenAnswers, [CLIENT.clientSecret, ...clientKeys, ...anaf.issued.refreshTokens, ...anaf.issued.codes]),
      ]
    : [];
  await anaf?.close();
  await pg?.destroy();
  expect(hits).toEqual([]);
});

describe('three machines on one team store', () => {
  it('serves a token obtained on one machine from the serve of each of the three, byte for byte', async () => {
    const [a] = team.machines;
    await addProfile(a!, 'firma', CLIENT, anaf.url);
    anaf.setOptions({ accessTokenTtlSec: 90 * DAY });
    const issued = await authorizeOn(a!, 'firma', anaf, pki);
    anaf.resetCounters();
    const serves = await serveAll(team);
    const answers = await Promise.all(serves.map((s) => erp(s.port, '/v1/profiles/firma/token', { as: cred })));
    expect(answers.map((x) => x.status)).toEqual([200, 200, 200]);
    expect(tokenOf(answers[0]!).accessToken).toBe(issued);
    // The whole answer, not only the token: the same bytes from every machine.
    expect(new Set(answers.map((x) => x.body)).size).toBe(1);
    expect(anaf.counters.requests.token).toBe(0);
    // The CLI of the other machines opens it too.
    for (const m of team.machines.slice(1)) expect((await m.cli(['token', '--profile', 'firma'])).stdout.trim()).toBe(issued);
  });

  it('20 concurrent token requests across the three serves while the token is due: one refresh at ANAF, all get the new token', async () => {
    const [a] = team.machines;
    await addProfile(a!, 'busy', CLIENT, anaf.url);
    anaf.setOptions({ accessTokenTtlSec: 10 * DAY }); // inside the 14-day window: due at once
    const old = await authorizeOn(a!, 'busy', anaf, pki);
    anaf.setOptions({ accessTokenTtlSec: 90 * DAY });
    const serves = await serveAll(team);
    anaf.resetCounters();
    anaf.setFaults({ delayMs: 700, endpoints: ['token'] });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => erp(serves[i % 3]!.port, '/v1/profiles/busy/token', { as: cred })));
    anaf.clearFaults();
    expect(answers.map((x) => x.status)).toEqual(Array(20).fill(200));
    expect(anaf.counters.grants.refresh_token).toBe(1);
    const fresh = anaf.issued.accessTokens.at(-1)!;
    expect(fresh).not.toBe(old);
    expect(new Set(answers.map((x) => tokenOf(x).accessToken))).toEqual(new Set([fresh]));
    // Not due any more on any machine: nothing more reaches ANAF.
    for (const s of serves) expect(tokenOf(await erp(s.port, '/v1/profiles/busy/token', { as: cred })).accessToken).toBe(fresh);
    expect(anaf.counters.requests.token).toBe(1);
  });

  it('keeps serving the still-valid token on every machine while PostgreSQL is stopped, fails writes without a crash, and recovers without a restart', async () => {
    const [a, b] = team.machines;
    await addProfile(a!, 'outage', CLIENT, anaf.url);
    anaf.setOptions({ accessTokenTtlSec: 90 * DAY });
    const token = await authorizeOn(a!, 'outage', anaf, pki);
    const serves = await serveAll(team);
    for (const s of serves) expect(tokenOf(await erp(s.port, '/v1/profiles/outage/token', { as: cred })).accessToken).toBe(token);

    await pg.stop();
    let restarted = 0;
    try {
      await sleep(300); // the serves' change feeds notice the lost connection
      for (let round = 0; round < 3; round++) {
        const during = await Promise.all(serves.map((s) => erp(s.port, '/v1/profiles/outage/token', { as: cred })));
        expect(during.map((x) => [x.status, tokenOf(x).accessToken])).toEqual(serves.map(() => [200, token]));
      }
      // A write: refused with a clear error, nothing crashes.
      const write = await b!.cli(
        ['profile', 'add', '--name', 'during', '--client-id', CLIENT.clientId, '--redirect-uri', CLIENT.redirectUri, '--env', anaf.url],
        `${CLIENT.clientSecret}\n`,
        true,
      );
      expect(write.code).not.toBe(0);
      expect(write.stderr + write.stdout).toMatch(/STORE_UNAVAILABLE/);
      const forced = await Promise.all(serves.map((s) => erp(s.port, '/v1/profiles/outage/refresh', { as: cred, method: 'POST' })));
      for (const x of forced) expect(x.status).not.toBe(500);
      expect(serves.map((s) => s.child.exitCode)).toEqual([null, null, null]);
    } finally {
      restarted = Date.now();
      await pg.start();
    }
    // Back without restarting anything: a new grant authorized on one machine is served by all.
    await until('writes to work again', async () => (await b!.cli(['profile', 'list', '--json'], undefined, true)).code === 0, 20_000, 200);
    await addProfile(b!, 'after', CLIENT, anaf.url);
    const after = await authorizeOn(b!, 'after', anaf, pki);
    for (const s of serves) {
      await until(`serve on port ${s.port} to serve the new grant`, async () => {
        const x = await erp(s.port, '/v1/profiles/after/token', { as: cred });
        return x.status === 200 && tokenOf(x).accessToken === after;
      });
    }
    console.log(`team-machines: all three serves answered a grant authorized after PostgreSQL came back, ${Date.now() - restarted} ms after it was started`);
    expect(serves.map((s) => s.child.exitCode)).toEqual([null, null, null]);
    for (const s of serves) expect(tokenOf(await erp(s.port, '/v1/profiles/outage/token', { as: cred })).accessToken).toBe(token);
  });

  it('refuses the token and refresh of a profile whose row was edited in the database, on every machine, and sends nothing anywhere', async () => {
    const [a] = team.machines;
    await addProfile(a!, 'edited', CLIENT, anaf.url);
    anaf.setOptions({ accessTokenTtlSec: 10 * DAY }); // due: every token request would refresh it
    await authorizeOn(a!, 'edited', anaf, pki);
    anaf.setOptions({ accessTokenTtlSec: 90 * DAY });
    // And one not due, that every serve has already served (and may keep in memory).
    await addProfile(a!, 'edited-valid', CLIENT, anaf.url);
    await authorizeOn(a!, 'edited-valid', anaf, pki);
    await addProfile(a!, 'untouched', CLIENT, anaf.url);
    await authorizeOn(a!, 'untouched', anaf, pki);
    // The server the edited row points at: it counts every connection.
    let evilConnections = 0;
    const evil = net.createServer((sock) => {
      evilConnections++;
      sock.destroy();
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const evilUrl = `https://127.0.0.1:${(evil.address() as net.AddressInfo).port}`;
    try {
      const serves = await serveAll(team);
      for (const s of serves) expect((await erp(s.port, '/v1/profiles/edited-valid/token', { as: cred })).status).toBe(200);
      anaf.resetCounters();
      const edit = await pg.query(team.db, "UPDATE anaf_token.profiles SET env = $1 WHERE name IN ('edited', 'edited-valid')", [evilUrl]);
      expect(edit.rowCount).toBe(2);
      for (const s of serves) {
        for (const [path, method] of [
          ['/v1/profiles/edited/token', 'GET'],
          ['/v1/profiles/edited/refresh', 'POST'],
          ['/v1/profiles/edited-valid/token', 'GET'],
          ['/v1/profiles/edited-valid/refresh', 'POST'],
        ] as const) {
          const x = await erp(s.port, path, { as: cred, method });
          expect([x.status, errorOf(x).code], `${method} ${path} on port ${s.port}`).toEqual([409, 'PROFILE_ALTERED']);
        }
      }
      for (const m of team.machines) {
        for (const args of [
          ['token', '--profile', 'edited'],
          ['refresh', '--profile', 'edited'],
          ['token', '--profile', 'edited-valid'],
          ['refresh', '--profile', 'edited-valid'],
        ]) {
          const r = await m.cli(args, undefined, true);
          expect(r.code, `${m.name}: ${args.join(' ')}`).not.toBe(0);
          expect(r.stderr + r.stdout).toContain('PROFILE_ALTERED');
        }
      }
      expect(anaf.counters.requests.token).toBe(0);
      expect(evilConnections).toBe(0);
      // The other profiles are untouched.
      for (const s of serves) expect((await erp(s.port, '/v1/profiles/untouched/token', { as: cred })).status).toBe(200);
    } finally {
      await new Promise<void>((r) => evil.close(() => r()));
    }
  });
});

describe('the refresh scheduler of three serves', () => {
  it(`refreshes each of ${SCHEDULED} due grants exactly once at ANAF`, async () => {
    const sched = await setUpTeam({ pg, db: 'scheduler', names: ['A', 'B', 'C'], caFile: pki.ca.certFile });
    homes.push(...sched.machines.map((m) => m.home));
    try {
      const names = Array.from({ length: SCHEDULED }, (_, i) => `due-${String(i).padStart(5, '0')}`);
      anaf.setOptions({ accessTokenTtlSec: 10 * DAY });
      await seedGrants({ url: sched.url, teamKey: sched.machines[0]!.teamKey(), anaf, pki, client: CLIENT, names });
      anaf.setOptions({ accessTokenTtlSec: 90 * DAY });
      const seeded = await pg.query<{ n: string }>('scheduler', 'SELECT count(*) AS n FROM anaf_token.tokens WHERE generation = 1 AND refresh_due_at <= $1', [
        Date.now(),
      ]);
      expect(Number(seeded.rows[0]!.n)).toBe(SCHEDULED);
      anaf.resetCounters();
      const started = Date.now();
      await serveAll(sched, ['--check-interval', '300ms']);
      await until(
        'every due grant to be refreshed',
        async () => Number((await pg.query<{ n: string }>('scheduler', 'SELECT count(*) AS n FROM anaf_token.tokens WHERE generation = 1')).rows[0]!.n) === 0,
        240_000,
        200,
      );
      const tookMs = Date.now() - started;
      await sleep(1_000); // a refresh sent late by a slower instance would show now
      const gens = await pg.query<{ generation: string; n: string }>(
        'scheduler',
        'SELECT generation, count(*) AS n FROM anaf_token.tokens GROUP BY generation',
      );
      // Which instance refreshed how many (the refresher logs refresh.done in its machine's log).
      const perServe = sched.machines.map(
        (m) => (fs.readFileSync(path.join(m.home, 'logs', 'anaf-token.log'), 'utf8').match(/refresh\.done profile="due-\d+"/g) ?? []).length,
      );
      console.log(
        `team-machines: 3 serves refreshed ${SCHEDULED} due grants in ${tookMs} ms; ${anaf.counters.grants.refresh_token} refreshes at ANAF; per instance ${perServe.join(' + ')}`,
      );
      expect(gens.rows.map((r) => [Number(r.generation), Number(r.n)])).toEqual([[2, SCHEDULED]]);
      expect(anaf.counters.grants.refresh_token).toBe(SCHEDULED);
      expect(perServe.reduce((x, y) => x + y, 0)).toBe(SCHEDULED);
    } finally {
      for (const s of sched.serves) serveOutput.push(s.output().stdout, s.output().stderr);
      await sched.stopServes();
    }
  }, 300_000);
});
