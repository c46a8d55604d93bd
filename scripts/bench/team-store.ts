/**
 * The team store on PostgreSQL (a real server, test/helpers/postgres.ts; machines set up through
 * the CLI, test/helpers/team-machines.ts; grants from the ANAF stand-in):
 *  - the ERP's token fetch from `serve` on a team store vs the same query straight to PostgreSQL
 *    (pg-direct-server.mjs), both over HTTP keep-alive with wrk;
 *  - the due scan over 10,000 profiles;
 *  - the scheduler of 3 serve instances over N due grants (BENCH_TEAM_DUE, default 1,000) among
 *    10,000 profiles: time until all are refreshed, and refreshes per grant at ANAF.
 * Run alone with `bash scripts/with-node.sh tsx scripts/bench/team-store.ts`, or from main.ts.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { authorizationFor } from '../../native-host/src/serve/client-keys.js';
import { TeamStore } from '../../native-host/src/team/team-store.js';
import { startAnafStandin, type AnafStandin } from '../../test/anaf-standin/server.js';
import { startPostgres, type Pg } from '../../test/helpers/postgres.js';
import { challenge, erp } from '../../test/helpers/serve-process.js';
import { seedGrants, setUpTeam } from '../../test/helpers/team-machines.js';
import { tempDir } from '../../test/helpers/temp.js';
import { makePki, type Pki } from '../../test/pki/make-pki.js';
import { loadPair, medianOf, rpsRow, type LoadResult } from './serve.js';
import { median, round, type BenchRow } from './stats.js';

const DAY_MS = 86_400_000;
const CLIENT = {
  clientId: 'bench-team-client',
  clientSecret: `bench-team-secret-${crypto.randomBytes(6).toString('hex')}`,
  redirectUri: 'https://erp.example.ro/cb',
};
const ROUNDS = Number(process.env.BENCH_TEAM_ROUNDS ?? 5);
const SECONDS = 2;
const DUE = Number(process.env.BENCH_TEAM_DUE ?? 1_000);
const PROFILES = 10_000;
/** The machines' homes (their vault dirs, logs and file key stores): removed at the end. */
const homes: string[] = [];

async function startDirect(url: string, bodyBytes: number): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'pg-direct-server.mjs')], {
    env: { ...process.env, PG_URL: url, BODY_BYTES: String(bodyBytes) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)));
  return { port, stop: () => child.kill('SIGTERM') };
}

async function tokenFetch(pg: Pg, anaf: AnafStandin, pki: Pki, say: (s: string) => void): Promise<BenchRow[]> {
  const team = await setUpTeam({ pg, db: 'bench_fetch', names: ['A'], caFile: pki.ca.certFile });
  homes.push(...team.machines.map((m) => m.home));
  const [a] = team.machines;
  anaf.setOptions({ accessTokenTtlSec: 90 * 86_400 });
  await seedGrants({ url: team.url, teamKey: a!.teamKey(), anaf, pki, client: CLIENT, names: ['firma'] });
  const key = (JSON.parse((await a!.cli(['clients', 'add', 'bench', '--json'])).stdout) as { key: string }).key;
  const as = { name: 'bench', key };
  const tokenPath = '/v1/profiles/firma/token';
  const rows: BenchRow[] = [];
  say(
    `  token fetch over HTTP keep-alive (wrk, one thread; ${ROUNDS} rounds, each with a fresh serve and direct server, 1 s warm-up then ${SECONDS} s each, alternating; medians)\n`,
  );
  for (const connections of [1, 32]) {
    const ours: LoadResult[] = [];
    const base: LoadResult[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const serve = await a!.serve(['--check-interval', '0']);
      const nonce = await challenge(serve.port);
      const headers = { Authorization: authorizationFor(as.name, key, nonce, `127.0.0.1:${serve.port}`) };
      const sample = await erp(serve.port, tokenPath, { as, nonce });
      if (sample.status !== 200) throw new Error(`serve answered ${sample.status}: ${sample.body}`);
      const direct = await startDirect(team.url, Buffer.byteLength(sample.body));
      const check = await erp(direct.port, tokenPath);
      if (check.status !== 200 || Buffer.byteLength(check.body) !== Buffer.byteLength(sample.body))
        throw new Error(`direct server answered ${check.status}, ${check.body.length} bytes`);
      await loadPair(r, { port: serve.port, results: ours }, { port: direct.port, results: base }, tokenPath, headers, connections, SECONDS);
      direct.stop();
      await team.stopServes();
    }
    const bad = [...ours, ...base].find((o) => o.errors || o.non2xx);
    if (bad) throw new Error(`token fetch: ${bad.errors} errors, ${bad.non2xx} non-2xx`);
    rows.push(rpsRow(`team store: token fetch req/s through serve vs straight to PostgreSQL, concurrency ${connections}`, ours, base, 0.8));
    rows.push({
      figure: `team store: token fetch latency p99, concurrency ${connections}`,
      ours: medianOf(ours, 'p99'),
      baseline: medianOf(base, 'p99'),
      unit: 'ms',
      goal: 'report',
    });
    say(
      `    (concurrency ${connections}: rounds serve ${ours.map((o) => Math.round(o.rps)).join('/')}, direct ${base.map((o) => Math.round(o.rps)).join('/')} req/s; p50 serve ${round(medianOf(ours, 'p50'))} ms, direct ${round(medianOf(base, 'p50'))} ms)\n`,
    );
  }
  return rows;
}

async function dueScan(pg: Pg, runs: number): Promise<BenchRow[]> {
  await pg.createDatabase('bench_due');
  const url = pg.url('bench_due');
  const key = crypto.randomBytes(32);
  const { registrationFor } = await import('../../native-host/src/team/team-key.js');
  const store = await TeamStore.connect({ url, teamKey: key, register: registrationFor(key) });
  try {
    const now = Date.now();
    await fillPlain(pg, 'bench_due', 'p', PROFILES, now, (i) => `$1 + ${i} * 864000::bigint`);
    const times: number[] = [];
    let due = 0;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      due = (await store.dueForRefresh(now)).length;
      times.push(performance.now() - t);
    }
    const ms = median(times);
    return [{ figure: `team store: due scan of ${PROFILES.toLocaleString('en')} profiles (${due} due)`, ours: ms, unit: 'ms', goal: '≤ 50 ms', met: ms <= 50 }];
  } finally {
    await store.close();
  }
}

/**
 * Profiles and tokens written straight in SQL: only the plain columns the scan and the scheduler
 * read are real; the sealed ones are placeholders that nothing opens (the rows are never due, or
 * only scanned). `expiresSql` gives access_expires_at of row i (a SQL expression over $1 = now).
 */
async function fillPlain(pg: Pg, db: string, prefix: string, count: number, now: number, expiresSql: (i: string) => string): Promise<void> {
  await pg.query(
    db,
    `INSERT INTO anaf_token.profiles (name, client_id, redirect_uri, env, refresh_window_days, secret, created_at)
     SELECT '${prefix}' || i, 'c' || i, 'https://erp.example/cb', 'test', 14, '\\x00', $1 FROM generate_series(1, ${count}) i`,
    [now],
  );
  await pg.query(
    db,
    `INSERT INTO anaf_token.tokens (profile, access, refresh, access_expires_at, refresh_expires_at, refresh_due_at, authorized_at, generation)
     SELECT '${prefix}' || i, '\\x00', '\\x00', ${expiresSql('i')}, NULL, ${expiresSql('i')} - 14 * 86400000::bigint, $1, 1
     FROM generate_series(1, ${count}) i`,
    [now],
  );
  await pg.query(db, 'ANALYZE anaf_token.tokens');
}

async function scheduler(pg: Pg, anaf: AnafStandin, pki: Pki, say: (s: string) => void): Promise<BenchRow[]> {
  const team = await setUpTeam({ pg, db: 'bench_sched', names: ['A', 'B', 'C'], caFile: pki.ca.certFile });
  homes.push(...team.machines.map((m) => m.home));
  try {
    const names = Array.from({ length: DUE }, (_, i) => `due-${String(i).padStart(5, '0')}`);
    const t0 = performance.now();
    anaf.setOptions({ accessTokenTtlSec: 10 * 86_400 });
    await seedGrants({ url: team.url, teamKey: team.machines[0]!.teamKey(), anaf, pki, client: CLIENT, names, concurrency: 8 });
    anaf.setOptions({ accessTokenTtlSec: 90 * 86_400 });
    // The rest of the 10,000: not due for 20 to 80 days.
    await fillPlain(pg, 'bench_sched', 'idle-', PROFILES - DUE, Date.now(), (i) => `$1 + (34 + ${i} % 60) * ${DAY_MS}::bigint`);
    say(`  scheduler: ${DUE} due grants authorized at the stand-in among ${PROFILES} profiles in ${Math.round((performance.now() - t0) / 1000)} s\n`);
    anaf.resetCounters();
    const started = performance.now();
    await Promise.all(team.machines.map((m) => m.serve(['--check-interval', '1s'])));
    const left = async () =>
      Number(
        (await pg.query<{ n: string }>('bench_sched', "SELECT count(*) AS n FROM anaf_token.tokens WHERE generation = 1 AND profile LIKE 'due-%'")).rows[0]!.n,
      );
    for (;;) {
      if ((await left()) === 0) break;
      if (performance.now() - started > 3_600_000) throw new Error('the scheduler did not refresh every due grant within an hour');
      await sleep(100);
    }
    const took = performance.now() - started;
    await sleep(1_500);
    const gens = await pg.query<{ g: string; n: string }>(
      'bench_sched',
      "SELECT generation AS g, count(*) AS n FROM anaf_token.tokens WHERE profile LIKE 'due-%' GROUP BY generation",
    );
    const maxRefreshes = Math.max(...gens.rows.map((r) => Number(r.g) - 1));
    const perGrant = anaf.counters.grants.refresh_token / DUE;
    return [
      {
        figure: `team store: 3 serve instances refresh ${DUE} due grants (among ${PROFILES.toLocaleString('en')} profiles)`,
        ours: took / 1000,
        unit: 's',
        goal: 'report',
      },
      {
        figure: 'team store: refreshes at ANAF per due grant (most for one grant)',
        ours: perGrant,
        unit: `(max ${maxRefreshes})`,
        goal: '= 1',
        met: perGrant === 1 && maxRefreshes === 1,
      },
      { figure: 'team store: scheduler throughput', ours: DUE / (took / 1000), unit: 'refreshes/s', goal: 'report' },
    ];
  } finally {
    await team.stopServes();
  }
}

export async function teamStoreBench(runs: number, say: (s: string) => void = (s) => process.stdout.write(s)): Promise<BenchRow[]> {
  const pkiDir = tempDir('bench-pki');
  const [pg, pki] = await Promise.all([startPostgres(), makePki(pkiDir)]);
  const anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret, redirectUris: [CLIENT.redirectUri] }] });
  try {
    return [...(await tokenFetch(pg, anaf, pki, say)), ...(await dueScan(pg, runs)), ...(await scheduler(pg, anaf, pki, say))];
  } finally {
    await anaf.close();
    await pg.destroy();
    for (const h of [...homes, pkiDir]) fs.rmSync(h, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const r of await teamStoreBench(Number(process.env.BENCH_RUNS ?? 31))) {
    process.stdout.write(
      `  ${r.figure}: ${round(r.ours)} ${r.unit}${r.baseline === undefined ? '' : ` vs ${round(r.baseline)} ${r.unit}`}${r.ratio === undefined ? '' : ` ratio ${round(r.ratio)}×`} (goal ${r.goal})${r.met === undefined ? '' : r.met ? ' ✓' : ' ✗'}\n`,
    );
  }
}
