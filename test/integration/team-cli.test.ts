/**
 * The team store as a user sets it up, through the built CLI against a real PostgreSQL and the
 * mTLS ANAF stand-in: `store use` (URL on stdin), `team init`, `team invite` / `team join` (invite
 * text and spoken code on stdin), and `store migrate` of a vault with a live grant into the team
 * store and back: nothing lost, and the refresh token never usable in two stores at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePaths } from '../../native-host/src/config/paths.js';
import { SqliteGatewayStore } from '../../native-host/src/gateway/sqlite-store.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { openAuthorize } from '../helpers/browser.js';
import { runCli, transcript } from '../helpers/cli.js';
import { startPostgres, type Pg } from '../helpers/postgres.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { tempDir } from '../helpers/temp.js';
import { makePki, type Pki } from '../pki/make-pki.js';

const CLIENT_ID = 'team-cli-client';
const CLIENT_SECRET = `team-secret-${Math.random().toString(36).slice(2)}`;
const REDIRECT = 'https://erp.example.ro/anaf/callback';

let pki: Pki;
let anaf: AnafStandin;
let pg: Pg;
let url: string;
/** The team's first machine (test 1 makes it). */
let first: Machine;

const machine = (name: string) => ({ ANAF_TOKEN_HOME: tempDir(`team-cli-${name}`), ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile });
type Machine = ReturnType<typeof machine>;

async function ok(env: Machine, args: string[], input?: string) {
  const r = await runCli(args, env, input);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

async function invite(from: Machine): Promise<{ invite: string; code: string }> {
  return JSON.parse((await ok(from, ['team', 'invite', '--json'])).stdout) as { invite: string; code: string };
}

async function authorize(env: Machine, profile: string) {
  await ok(env, ['profile', 'add', '--name', profile, '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT, '--env', anaf.url], `${CLIENT_SECRET}\n`);
  const start = JSON.parse((await ok(env, ['authorize', '--profile', profile, '--json'])).stdout) as { authorizeUrl: string };
  const res = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
  await ok(env, ['authorize', '--profile', profile, '--callback-url'], `${res.location!}\n`);
}

const tokenOf = async (env: Machine, profile: string) => (await ok(env, ['token', '--profile', profile])).stdout.trim();

beforeAll(async () => {
  pki = await makePki(tempDir('pki'));
  anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }] });
  pg = await startPostgres();
  await pg.createDatabase('firm');
  url = pg.url('firm');
}, 60_000);

afterAll(async () => {
  await anaf?.close();
  await pg?.destroy();
  const secrets = [CLIENT_SECRET, url, pg.password, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens, ...anaf.issued.codes];
  expect(scanForSecrets(transcript, secrets)).toEqual([]);
});

describe('a team store set up from the command line', () => {
  it('init on one machine, invite and join on another: both see the same profiles and tokens; the invite works once; the URL never shows', async () => {
    const a = (first = machine('a'));
    const b = machine('b');
    const refused = await runCli(['store', 'use', url], a);
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('standard input')]);
    expect((await ok(a, ['store', 'use'], `${url}\n`)).stdout).toContain('team init');
    await ok(a, ['team', 'init']);
    expect((await runCli(['team', 'init'], machine('a2'))).code).not.toBe(0); // a machine without a store set
    await authorize(a, 'firma');

    const inv = await invite(a);
    await ok(b, ['store', 'use'], `${url}\n`);
    const wrong = await runCli(['team', 'join'], b, `${inv.invite}\n${inv.code.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}\n`);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/INVITE_CODE_(MALFORMED|WRONG)/);
    const inv2 = await invite(a);
    await ok(b, ['team', 'join'], `${inv2.invite}\n${inv2.code}\n`);
    const again = await runCli(['team', 'join'], machine('c'), `${url}\n${inv2.invite}\n${inv2.code}\n`);
    expect(again.stderr).toContain('INVITE_USED_OR_EXPIRED');

    expect(await tokenOf(b, 'firma')).toBe(anaf.issued.accessTokens.at(-1));
    const status = JSON.parse((await ok(b, ['store', 'status', '--json'])).stdout) as {
      engine: string;
      url: string;
      teamId: string;
      profiles: number;
      tokens: number;
    };
    expect(status).toMatchObject({ engine: 'postgres', profiles: 1, tokens: 1 });
    expect(status.url).toContain('***');
    expect(status.url).not.toContain(pg.password);
    const teamA = JSON.parse((await ok(a, ['team', 'status', '--json'])).stdout) as { machine: { teamId: string }; store: { opens: boolean } };
    expect(teamA.machine.teamId).toBe(status.teamId);
    expect(teamA.store.opens).toBe(true);
    const doctor = JSON.parse((await runCli(['doctor', '--json'], b)).stdout) as { findings: { check: string; status: string; message: string }[] };
    expect(doctor.findings.find((f) => f.check === 'team-store')).toMatchObject({ status: 'ok', message: expect.stringContaining(status.teamId) });
    // A machine set to the store without the key: the doctor says so.
    const stranger = machine('stranger');
    await ok(stranger, ['store', 'use'], `${url}\n`);
    const d2 = JSON.parse((await runCli(['doctor', '--json'], stranger)).stdout) as { findings: { check: string; status: string; message: string }[] };
    expect(d2.findings.find((f) => f.check === 'team-store')).toMatchObject({ status: 'fail', message: expect.stringContaining('TEAM_KEY_MISSING') });
    // The same database under another spelling of its URL: refused, nothing moved or deleted.
    const sameDb = await runCli(['store', 'migrate', '--to', 'postgres'], b, `${url.replace(/^postgres:/, 'postgresql:')}\n`);
    expect([sameDb.code, sameDb.stderr]).toEqual([2, expect.stringContaining('same team')]);
    expect(await tokenOf(b, 'firma')).toBe(anaf.issued.accessTokens.at(-1));
  });

  it('moves a vault with a live grant into the team store and back: the same token, one refresh after, nothing left behind', async () => {
    const a = first;
    const m = machine('mover');
    await authorize(m, 'mutat');
    await ok(m, ['clients', 'add', 'erp', '--profiles', 'mutat']);
    const before = await tokenOf(m, 'mutat');
    const inv = await invite(a);
    // Joined while still on its vault: the URL is asked first, the vault stays in use.
    await ok(m, ['team', 'join'], `${url}\n${inv.invite}\n${inv.code}\n`);
    expect(JSON.parse((await ok(m, ['store', 'status', '--json'])).stdout)).toMatchObject({ engine: 'sqlite' });

    // An upload still on its way in this machine's gateway outbox: the move is refused, nothing moves.
    const outbox = SqliteGatewayStore.open(resolvePaths(m.ANAF_TOKEN_HOME));
    const t = Date.now();
    const doc = Buffer.from('<Invoice/>');
    await outbox.submit([
      { id: 'job-1', profile: 'mutat', kind: 'efactura', cif: '123', standard: 'UBL', flags: {}, hash: 'ab'.repeat(32), doc, force: false, now: t },
    ]);
    const refused = await runCli(['store', 'migrate', '--to', 'postgres', '--json'], m, `${url}\n`);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('GATEWAY_JOBS_OPEN');
    expect(JSON.parse((await ok(m, ['store', 'status', '--json'])).stdout)).toMatchObject({ engine: 'sqlite' });
    expect(await tokenOf(m, 'mutat')).toBe(before);
    // Once it is done, the store moves.
    await outbox.claim({ owner: 'test', now: t, leaseMs: 60_000, limit: 10 });
    await outbox.release([{ id: 'job-1', owner: 'test', patch: { state: 'ok' } }], t);
    await outbox.close();

    const moved = JSON.parse((await ok(m, ['store', 'migrate', '--to', 'postgres', '--json'], `${url}\n`)).stdout) as Record<string, unknown>;
    expect(moved).toMatchObject({ profiles: 1, tokens: 1, clients: 1 });
    expect(await tokenOf(m, 'mutat')).toBe(before);
    expect(await tokenOf(a, 'mutat')).toBe(before);
    const local = JSON.parse((await ok({ ...m, ANAF_TOKEN_STORE: 'local' } as Machine, ['list', '--json'])).stdout) as unknown[];
    expect(local).toEqual([]); // nothing usable stays in the vault
    const clients = JSON.parse((await ok(a, ['clients', 'list', '--json'])).stdout) as { name: string; profiles: string[] | null }[];
    expect(clients.find((c) => c.name === 'erp')?.profiles).toEqual(['mutat']);

    // One refresh through the team store works: the refresh token moved, not copied.
    const refreshes = anaf.issued.accessTokens.length;
    await ok(a, ['refresh', '--profile', 'mutat']);
    expect(anaf.issued.accessTokens.length).toBe(refreshes + 1);
    const after = await tokenOf(m, 'mutat');
    expect(after).toBe(anaf.issued.accessTokens.at(-1));

    // And back to this machine's vault: the whole store moves (the first test's profile too).
    const back = JSON.parse((await ok(m, ['store', 'migrate', '--to', 'local', '--json'])).stdout) as Record<string, unknown>;
    expect(back).toMatchObject({ profiles: 2, tokens: 2 });
    expect(JSON.parse((await ok(m, ['store', 'status', '--json'])).stdout)).toMatchObject({ engine: 'sqlite' });
    expect(await tokenOf(m, 'mutat')).toBe(after);
    expect(JSON.parse((await ok(a, ['list', '--json'])).stdout)).toEqual([]);
    await ok(m, ['refresh', '--profile', 'mutat']);
    expect(await tokenOf(m, 'mutat')).toBe(anaf.issued.accessTokens.at(-1));
  });
});
