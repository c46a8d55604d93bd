/**
 * kill -9 of `serve` at random moments while an ERP sends it 200 invoices: every invoice ends
 * sent to ANAF exactly once, or reported (`unresolved`) for the ERP to decide; none is lost,
 * none is sent twice. The ERP does what docs/erp-api.md tells it: an upload whose answer it did
 * not get is sent to us again (the same document is one job), and it follows each job.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gw } from '../helpers/gateway-erp.js';
import { CIF, invoice, startGatewayWorld, type GatewayWorld } from '../helpers/gateway-world.js';
import { startServeProcess, type ClientCredential, type ServeProcess } from '../helpers/serve-process.js';
import { SqliteGatewayStore } from '../../native-host/src/gateway/sqlite-store.js';
import { resolvePaths } from '../../native-host/src/config/paths.js';

interface JobJson {
  job: string;
  state: string;
}

const N = 200;
/** kill -9s of serve in a run, at the least: the uploads alone may be over within a few. */
const MIN_KILLS = 6;
let w: GatewayWorld;
let erp: ClientCredential;
let serve: ServeProcess | undefined;

beforeAll(async () => {
  // A dead serve's lease runs out in 1.5 s; a job of unknown outcome is looked for in ANAF's list for 5 s.
  w = await startGatewayWorld({
    env: { ANAF_TOKEN_GATEWAY_LEASE_MS: '1500', ANAF_TOKEN_GATEWAY_GRACE_MS: '5000', ANAF_TOKEN_GATEWAY_CHECK_MS: '300', ANAF_TOKEN_GATEWAY_BATCH: '8' },
  });
  const r = await w.cli(['clients', 'add', 'erp', '--json']);
  erp = { name: 'erp', key: (JSON.parse(r.stdout) as { key: string }).key };
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await w?.close();
});

describe('the gateway under kill -9', () => {
  it('sends each of 200 documents once or reports it; loses none', async () => {
    serve = await startServeProcess(['--check-interval', '0'], w.env);
    // A little latency at ANAF widens the window between its answer and our write.
    w.anaf.api.setFaults({ endpoints: ['upload'], slowMs: 15 });
    const docs = Array.from({ length: N }, (_, i) => invoice(`K-${i}-${Date.now()}`));
    const jobOf = new Map<number, string>();
    let kills = 0;
    let stop = false;

    const killer = (async () => {
      while (!stop) {
        await sleep(400 + Math.random() * 900);
        if (stop || !serve) continue;
        const s = serve;
        serve = undefined;
        s.child.kill('SIGKILL');
        await new Promise((r) => s.child.once('close', r));
        kills += 1;
        serve = await startServeProcess(['--check-interval', '0'], w.env);
      }
    })();

    /** Sends one document until serve answers for it (a cut connection: sent again). */
    const submit = async (i: number): Promise<void> => {
      for (;;) {
        const s = serve;
        if (!s) {
          await sleep(50);
          continue;
        }
        try {
          const a = await gw<JobJson>(s.port, erp, 'POST', `/v1/efactura/upload?cif=${CIF}`, docs[i]);
          if (a.status === 202 || a.status === 200) {
            jobOf.set(i, a.json.job);
            return;
          }
          throw new Error(`upload answered ${a.status}: ${JSON.stringify(a.json)}`);
        } catch (e) {
          if (e instanceof Error && /upload answered/.test(e.message)) throw e;
          await sleep(50); // serve was killed under us
        }
      }
    };
    for (let i = 0; i < N; i += 4) await Promise.all([i, i + 1, i + 2, i + 3].filter((k) => k < N).map(submit));
    // Keep killing a while after the last upload: the worker is still sending. A fast run still
    // gets its share of kills (the uploads alone may end within a few of them).
    const until = Date.now() + 2500;
    while (Date.now() < until || kills < MIN_KILLS) await sleep(100);
    stop = true;
    await killer;
    w.anaf.api.clearFaults();

    const store = SqliteGatewayStore.open(resolvePaths(w.home));
    try {
      const end = Date.now() + 90_000;
      for (;;) {
        const open = await store.list({ states: ['queued', 'sending', 'checking', 'sent'], limit: 1000 });
        if (open.length === 0) break;
        if (Date.now() > end) throw new Error(`${open.length} jobs still open: ${open.map((j) => j.state).join(',')}`);
        await sleep(250);
      }
      const jobs = await store.list({ limit: 1000 });
      // None lost: every document the ERP was answered for is one job.
      expect(jobOf.size).toBe(N);
      expect(new Set(jobOf.values()).size).toBe(N);
      expect(jobs.length).toBe(N);
      const uploads = [...w.anaf.api.efactura.uploads.values()].map((u) => u.xml.toString());
      const counts: Record<string, number> = {};
      for (const [i, id] of jobOf) {
        const j = jobs.find((x) => x.id === id)!;
        const sent = uploads.filter((u) => u === docs[i]).length;
        // Never twice; ok only when ANAF has it, with ANAF's index; unresolved when it may or may not.
        expect(sent, `${id} ${j.state}`).toBeLessThanOrEqual(1);
        if (j.state === 'ok') expect(sent, id).toBe(1);
        else expect(j.state, id).toBe('unresolved');
        counts[j.state] = (counts[j.state] ?? 0) + 1;
      }
      console.log(`gateway kill -9: ${kills} kills, ${N} documents: ${JSON.stringify(counts)}, ANAF received ${uploads.length}`);
      expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    } finally {
      await store.close();
    }
  });
});
