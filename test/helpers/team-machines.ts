/**
 * Several "machines" of one team, for tests and the bench: each its own ANAF_TOKEN_HOME and file
 * key store, all on one real PostgreSQL database (helpers/postgres.ts), set up through the real
 * CLI as a firm would (`store use` with the URL on standard input, `team init` on the first,
 * `team invite` there and `team join` with the invite and code on standard input on the others).
 * Each machine runs the CLI and `serve` as its own processes, against the ANAF stand-in.
 */
import https from 'node:https';
import { tokenSet } from '../../native-host/src/oauth/anaf-client.js';
import { resolvePaths } from '../../native-host/src/config/paths.js';
import { loadTeamKey } from '../../native-host/src/team/team-key.js';
import { TeamStore } from '../../native-host/src/team/team-store.js';
import type { AnafStandin } from '../anaf-standin/server.js';
import type { Pki } from '../pki/make-pki.js';
import { openAuthorize } from './browser.js';
import { runCli, type CliResult } from './cli.js';
import type { Pg } from './postgres.js';
import { startServeProcess, type ServeProcess } from './serve-process.js';
import { tempDir } from './temp.js';

export interface Machine {
  name: string;
  home: string;
  env: NodeJS.ProcessEnv;
  /** The CLI on this machine; a non-zero exit throws unless `allowFail`. */
  cli(args: string[], input?: string, allowFail?: boolean): Promise<CliResult>;
  /** `anaf-token serve` on this machine (stopped by Team.stopServes). */
  serve(args?: string[]): Promise<ServeProcess>;
  /** The team key this machine holds (read from its file key store), for a store opened by the test itself. */
  teamKey(): Buffer;
}

export interface Team {
  url: string;
  db: string;
  machines: Machine[];
  serves: ServeProcess[];
  stopServes(): Promise<void>;
}

export interface TeamOptions {
  pg: Pg;
  db: string;
  names: string[];
  /** The stand-in's CA (NODE_EXTRA_CA_CERTS of every process a machine starts). */
  caFile: string;
  /** Extra environment of every machine's processes. */
  env?: NodeJS.ProcessEnv;
}

function machine(name: string, caFile: string, serves: ServeProcess[], extra: NodeJS.ProcessEnv = {}): Machine {
  const home = tempDir(`machine-${name}`);
  const env: NodeJS.ProcessEnv = { ...extra, ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: caFile };
  return {
    name,
    home,
    env,
    async cli(args, input, allowFail = false) {
      const r = await runCli(args, env, input);
      if (r.code !== 0 && !allowFail) throw new Error(`${name}: anaf-token ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
      return r;
    },
    async serve(args = ['--check-interval', '0']) {
      const s = await startServeProcess(args, env);
      serves.push(s);
      return s;
    },
    teamKey() {
      return loadTeamKey({ paths: resolvePaths(home), env: { ANAF_TOKEN_KEYSTORE: 'file' } }).key;
    },
  };
}

/** A team of machines named `names` on a fresh database `db`: the first makes the team, the others join it. */
export async function setUpTeam(o: TeamOptions): Promise<Team> {
  await o.pg.createDatabase(o.db);
  const url = o.pg.url(o.db);
  const serves: ServeProcess[] = [];
  const machines = o.names.map((n) => machine(n, o.caFile, serves, o.env));
  for (const m of machines) await m.cli(['store', 'use', '--json'], `${url}\n`);
  const [first, ...others] = machines;
  await first!.cli(['team', 'init', '--json']);
  for (const m of others) {
    const inv = JSON.parse((await first!.cli(['team', 'invite', '--json'])).stdout) as { invite: string; code: string };
    await m.cli(['team', 'join', '--json'], `${inv.invite}\n${inv.code}\n`);
  }
  return {
    url,
    db: o.db,
    machines,
    serves,
    async stopServes() {
      await Promise.all(serves.splice(0).map((s) => s.stop()));
    },
  };
}

export interface StandinClientCfg {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** `profile add` on machine `m` (the secret on standard input), for the stand-in. */
export async function addProfile(m: Machine, name: string, c: StandinClientCfg, anafUrl: string): Promise<void> {
  await m.cli(['profile', 'add', '--name', name, '--client-id', c.clientId, '--redirect-uri', c.redirectUri, '--env', anafUrl], `${c.clientSecret}\n`);
}

/** Authorizes a profile on machine `m` through the CLI and the stand-in (the browser's part with the test certificate); returns the access token issued. */
export async function authorizeOn(m: Machine, name: string, anaf: AnafStandin, pki: Pki): Promise<string> {
  const start = JSON.parse((await m.cli(['authorize', '--profile', name, '--json'])).stdout) as { authorizeUrl: string };
  const res = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
  if (!res.location) throw new Error(`the stand-in did not redirect: ${res.status} ${res.body.slice(0, 200)}`);
  await m.cli(['authorize', '--profile', name, '--callback-url'], `${res.location}\n`);
  return anaf.issued.accessTokens.at(-1)!;
}

function postForm(url: string, ca: string, form: Record<string, string>): Promise<{ status: number; body: string }> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Many profiles with a real grant each, fast: the authorization is made at the stand-in from this
 * process (the browser's part, then the code exchanged as the host would), and the profile and its
 * tokens written through the team store opened with `teamKey` (as `authorize` would write them).
 * `concurrency` grants at a time.
 */
export async function seedGrants(o: {
  url: string;
  teamKey: Buffer;
  anaf: AnafStandin;
  pki: Pki;
  client: StandinClientCfg;
  names: string[];
  concurrency?: number;
}): Promise<void> {
  const store = await TeamStore.connect({ url: o.url, teamKey: o.teamKey });
  try {
    let next = 0;
    const worker = async () => {
      while (next < o.names.length) {
        const name = o.names[next++]!;
        const { profile } = await store.saveProfile(
          { name, clientId: o.client.clientId, clientSecret: o.client.clientSecret, redirectUri: o.client.redirectUri, env: o.anaf.url, refreshWindowDays: 14 },
          'create',
        );
        const authorize = new URL(`${o.anaf.url}/anaf-oauth2/v1/authorize`);
        for (const [k, v] of Object.entries({
          response_type: 'code',
          client_id: o.client.clientId,
          redirect_uri: o.client.redirectUri,
          token_content_type: 'jwt',
          state: name,
        })) {
          authorize.searchParams.set(k, v);
        }
        const res = await openAuthorize(authorize.toString(), o.pki.ca.certPem, o.pki.client);
        const code = new URL(res.location ?? 'https://none.invalid/').searchParams.get('code');
        if (!code) throw new Error(`no code for ${name}: ${res.status} ${res.body.slice(0, 200)}`);
        const t = await postForm(`${o.anaf.url}/anaf-oauth2/v1/token`, o.pki.ca.certPem, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: o.client.redirectUri,
          client_id: o.client.clientId,
          client_secret: o.client.clientSecret,
          token_content_type: 'jwt',
        });
        if (t.status !== 200) throw new Error(`code exchange for ${name}: ${t.status} ${t.body.slice(0, 200)}`);
        const now = Date.now();
        await store.saveTokens(profile, tokenSet(JSON.parse(t.body) as Parameters<typeof tokenSet>[0], now, now), {
          kind: 'authorization',
          certificate: {},
          stateEchoed: true,
        });
      }
    };
    await Promise.all(Array.from({ length: o.concurrency ?? 6 }, worker));
  } finally {
    await store.close();
  }
}
