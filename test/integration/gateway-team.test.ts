/**
 * The gateway on a team store (a real PostgreSQL): its jobs, limits and settings in their own
 * tables beside the team store's, and two serve instances sharing them: every job is taken by one
 * instance at a time, so none is sent twice, and ANAF's limits are counted once for both.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gw } from '../helpers/gateway-erp.js';
import { CIF, invoice, startGatewayWorld, type GatewayWorld } from '../helpers/gateway-world.js';
import { startPostgres, type Pg } from '../helpers/postgres.js';
import { startServeProcess, type ClientCredential, type ServeProcess } from '../helpers/serve-process.js';

interface JobJson {
  job: string;
  state: string;
  indexIncarcare?: string;
}

let pg: Pg;
let w: GatewayWorld;
const serves: ServeProcess[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  await pg.createDatabase('firm');
  const url = pg.url('firm');
  w = await startGatewayWorld({
    setup: async (cli) => {
      for (const args of [
        ['store', 'use'],
        ['team', 'init'],
      ]) {
        const r = await cli(args, `${url}\n`);
        if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
      }
    },
  });
}, 120_000);

afterAll(async () => {
  for (const s of serves) await s.stop();
  await w?.close();
  await pg?.destroy();
});

describe('the gateway on a team store', () => {
  it('keeps its own tables and migrations in the team database', async () => {
    const t = await pg.query<{ table_name: string }>(
      'firm',
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'anaf_token' AND table_name LIKE 'gateway_%' ORDER BY 1",
    );
    expect(t.rows.map((r) => r.table_name)).toEqual([
      'gateway_downloads',
      'gateway_jobs',
      'gateway_limit_daily',
      'gateway_limit_minute',
      'gateway_schema_migrations',
      'gateway_seen_messages',
      'gateway_settings',
    ]);
    const s = await pg.query<{ api_base: string }>('firm', 'SELECT api_base FROM anaf_token.gateway_settings');
    expect(s.rows).toEqual([{ api_base: `${w.anaf.url}/test` }]);
  });

  it('two serve instances share the jobs and never send one twice', async () => {
    const r = await w.cli(['clients', 'add', 'erp', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const erp: ClientCredential = { name: 'erp', key: (JSON.parse(r.stdout) as { key: string }).key };
    serves.push(await startServeProcess(['--check-interval', '0'], w.env), await startServeProcess(['--check-interval', '0'], w.env));
    // Slow answers keep both workers busy at the same time.
    w.anaf.api.setFaults({ endpoints: ['upload'], slowMs: 20 });
    const N = 120;
    const docs = Array.from({ length: N }, (_, i) => invoice(`T-${i}-${Date.now()}`));
    const jobs: string[] = [];
    for (let i = 0; i < N; i += 8) {
      const batch = await Promise.all(
        docs.slice(i, i + 8).map((d, k) => gw<JobJson>(serves[(i + k) % 2]!.port, erp, 'POST', `/v1/efactura/upload?cif=${CIF}`, d)),
      );
      for (const a of batch) {
        expect(a.status).toBe(202);
        jobs.push(a.json.job);
      }
    }
    const end = Date.now() + 60_000;
    for (;;) {
      const open = await pg.query<{ n: number }>(
        'firm',
        "SELECT count(*)::int AS n FROM anaf_token.gateway_jobs WHERE state NOT IN ('ok', 'nok', 'refused', 'unresolved', 'xml-errors')",
      );
      if (open.rows[0]!.n === 0) break;
      if (Date.now() > end) throw new Error(`${open.rows[0]!.n} jobs still open`);
      await sleep(200);
    }
    w.anaf.api.clearFaults();
    const uploads = [...w.anaf.api.efactura.uploads.values()];
    for (const d of docs) expect(uploads.filter((u) => u.xml.toString() === d).length).toBe(1);
    const states = await pg.query<{ state: string; n: number }>('firm', 'SELECT state, count(*)::int AS n FROM anaf_token.gateway_jobs GROUP BY state');
    expect(states.rows).toEqual([{ state: 'ok', n: N }]);
    // Both instances did some of the work (each logs the jobs it moved, with its pid).
    const log = fs.readFileSync(path.join(w.home, 'logs', 'anaf-token.log'), 'utf8');
    const senders = new Set([...log.matchAll(/ pid=(\d+) gateway\.job job="[^"]+" from="sending" to="sent"/g)].map((m) => m[1]));
    expect(senders.size).toBe(2);
    const one = await gw<JobJson>(serves[0]!.port, erp, 'GET', `/v1/jobs/${jobs[0]}`);
    const other = await gw<JobJson>(serves[1]!.port, erp, 'GET', `/v1/jobs/${jobs[1]}`);
    expect([one.json.state, other.json.state]).toEqual(['ok', 'ok']);
  });
});
