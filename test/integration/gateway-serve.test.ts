/**
 * The gateway through `serve` (a separate process) with the client keys: upload answered at once
 * (202) and sent by serve's worker, tracked to ok, the webhook on loopback told of each change;
 * a scoped client kept to its profiles; and an ERP that asks for a job's state in a loop while
 * ANAF keeps it "in prelucrare" never makes serve pass ANAF's 100 stareMesaj a day for it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gw } from '../helpers/gateway-erp.js';
import { CIF, invoice, startGatewayWorld, type GatewayWorld } from '../helpers/gateway-world.js';
import { startServeProcess, type ClientCredential, type ServeProcess } from '../helpers/serve-process.js';

interface JobJson {
  job: string;
  state: string;
  indexIncarcare?: string;
  idDescarcare?: string;
  duplicate?: boolean;
  error?: { code: string };
}

let w: GatewayWorld;
let serve: ServeProcess;
let erp: ClientCredential;
let hook: http.Server;
const events: JobJson[] = [];

async function key(name: string, ...flags: string[]): Promise<ClientCredential> {
  const r = await w.cli(['clients', 'add', name, '--json', ...flags]);
  if (r.code !== 0) throw new Error(r.stderr);
  return { name, key: (JSON.parse(r.stdout) as { key: string }).key };
}

async function until(job: string, done: (s: JobJson) => boolean, ms = 15_000): Promise<JobJson> {
  const end = Date.now() + ms;
  for (;;) {
    const a = await gw<JobJson>(serve.port, erp, 'GET', `/v1/jobs/${job}`);
    expect(a.status).toBe(200);
    if (done(a.json)) return a.json;
    if (Date.now() > end) throw new Error(`job ${job} stayed ${a.json.state}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      events.push(JSON.parse(body) as JobJson);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  w = await startGatewayWorld({ env: { ANAF_TOKEN_GATEWAY_WEBHOOK: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/anaf` } });
  erp = await key('erp');
  serve = await startServeProcess(['--check-interval', '0'], w.env);
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await w?.close();
  hook?.close();
});

describe('the gateway in serve', () => {
  it('accepts an upload at once, sends it, tracks it to ok and pushes each change to the webhook', async () => {
    const up = await gw<JobJson>(serve.port, erp, 'POST', `/v1/efactura/upload?cif=${CIF}`, invoice(`S-${Date.now()}`));
    expect(up.status).toBe(202);
    expect(up.json.job).toMatch(/^j/);
    const ok = await until(up.json.job, (s) => s.state === 'ok');
    expect(ok.idDescarcare).toMatch(/^\d+$/);
    // The webhook is told after the commit that GET already shows: its last call may still be on its way.
    const seenStates = () => events.filter((e) => e.job === up.json.job).map((e) => e.state);
    await expect.poll(() => seenStates().at(-1)).toBe('ok');
    expect(seenStates()).toContain('sent');

    const again = await gw<JobJson>(serve.port, erp, 'POST', `/v1/efactura/upload?cif=${CIF}`, invoice('dup-doc'));
    expect(again.status).toBe(202);
    const dup = await gw<JobJson>(serve.port, erp, 'POST', `/v1/efactura/upload?cif=${CIF}`, invoice('dup-doc'));
    expect(dup.status).toBe(200);
    expect(dup.json).toMatchObject({ job: again.json.job, duplicate: true });

    const list = await gw<{ jobs: JobJson[] }>(serve.port, erp, 'GET', '/v1/jobs?limit=10');
    expect(list.json.jobs.map((j) => j.job)).toContain(up.json.job);
  });

  it('keeps a client limited to other profiles away from this one', async () => {
    await w.cli(['profile', 'add', '--name', 'other', '--client-id', 'c', '--redirect-uri', 'https://erp.example.ro/cb', '--env', 'test'], 'secret\n');
    const scoped = await key('scoped', '--profiles', 'other');
    const a = await gw<{ error: { code: string } }>(serve.port, scoped, 'POST', `/v1/efactura/upload?cif=${CIF}&profile=${w.profile}`, invoice('scoped'));
    expect(a.status).toBe(403);
    expect(a.json.error.code).toBe('API_PROFILE_NOT_ALLOWED');
    // Its job list holds none of this profile's jobs (filtered in the query, before the limit); the
    // unscoped client's first page of one does.
    expect((await gw<{ jobs: JobJson[] }>(serve.port, scoped, 'GET', '/v1/jobs?limit=1')).json.jobs).toEqual([]);
    expect((await gw<{ jobs: JobJson[] }>(serve.port, erp, 'GET', '/v1/jobs?limit=1')).json.jobs).toHaveLength(1);
    const bad = await gw<{ error: { code: string } }>(serve.port, erp, 'GET', '/v1/jobs/%E0');
    expect([bad.status, bad.json.error.code]).toEqual([404, 'GATEWAY_JOB_NOT_FOUND']);
    const unknown = await gw<{ error: { code: string } }>(serve.port, erp, 'GET', '/v1/jobs/jaaaaaaaaaaaaaaaaaaaa');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('GATEWAY_JOB_NOT_FOUND');
  });

  it("never passes ANAF's 100 stareMesaj a day for a message, however often the ERP asks", async () => {
    // ANAF keeps it "in prelucrare" for a day; serve's worker polls as fast as it is allowed to.
    w.anaf.api.setOptions({ processing: { delayMs: 86_400_000 } });
    const up = await gw<JobJson>(serve.port, erp, 'POST', `/v1/efactura/upload?cif=${CIF}&profile=${w.profile}`, invoice(`L-${Date.now()}`));
    const sent = await until(up.json.job, (s) => s.indexIncarcare !== undefined);
    const index = sent.indexIncarcare!;
    let last: JobJson = sent;
    for (let i = 0; i < 300; i++) last = (await gw<JobJson>(serve.port, erp, 'GET', `/v1/jobs/${up.json.job}`)).json;
    await until(up.json.job, (s) => s.error?.code === 'GATEWAY_DAILY_LIMIT');
    await sleep(300);
    expect(last.state).toBe('sent');
    expect(w.anaf.api.daily('stareMesaj', index)).toBe(100);
    expect(w.anaf.api.refused().daily.stareMesaj).toBe(0);
    expect(w.anaf.api.peakPerMinute()).toBeLessThanOrEqual(1000);
    w.anaf.api.setOptions({ processing: { delayMs: 0 } });
  });
});
