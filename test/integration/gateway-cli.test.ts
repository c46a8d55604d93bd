/**
 * The e-Factura gateway from the CLI, as separate processes against the stand-in over HTTPS: an
 * invoice uploaded, tracked to ok, downloaded and unpacked once; a rejected one with ANAF's
 * errors; the same document twice sent once; ANAF down for a while, then the upload sent once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_NOK_ERRORS } from '../anaf-standin/efactura.js';
import { CIF, invoice, startGatewayWorld, type GatewayWorld } from '../helpers/gateway-world.js';
import { tempDir } from '../helpers/temp.js';

interface JobJson {
  job: string;
  state: string;
  indexIncarcare?: string;
  idDescarcare?: string;
  duplicate?: boolean;
  errors?: string[];
  error?: { code: string; detail?: string };
}

let w: GatewayWorld;
let dir: string;
let n = 0;

/** A new invoice file (a new document each time unless `id` is given). */
function file(id = `F-${++n}-${Date.now()}`): string {
  const f = path.join(dir, `${id}.xml`);
  fs.writeFileSync(f, invoice(id));
  return f;
}

/** How many times the stand-in received this document. */
const received = (f: string): number => {
  const xml = fs.readFileSync(f);
  return [...w.anaf.api.efactura.uploads.values()].filter((u) => u.xml.equals(xml)).length;
};

async function statusUntil(job: string, done: (s: string) => boolean, tries = 12): Promise<JobJson> {
  let s: JobJson | undefined;
  for (let i = 0; i < tries; i++) {
    s = await w.json<JobJson>(['efactura', 'status', job]);
    if (done(s.state)) return s;
  }
  throw new Error(`job ${job} stayed ${s?.state}`);
}

beforeAll(async () => {
  w = await startGatewayWorld({ env: { ANAF_TOKEN_GATEWAY_GRACE_MS: '1' } });
  dir = tempDir('gateway-docs');
}, 60_000);

afterAll(async () => {
  await w.close();
});

beforeEach(() => {
  w.anaf.api.clearFaults();
  w.anaf.api.setOptions({ processing: { delayMs: 0, outcome: 'ok' } });
});

describe('anaf-token efactura', () => {
  it('uploads at once, tracks the job to ok, downloads and unpacks the answer once', async () => {
    const f = file();
    const up = await w.json<JobJson>(['efactura', 'upload', f, '--cif', `RO${CIF}`]);
    expect(up.job).toMatch(/^j[a-z2-7]{20}$/);
    expect(up.state).toBe('sent');
    expect(up.indexIncarcare).toMatch(/^\d+$/);
    expect(received(f)).toBe(1);

    const s = await statusUntil(up.job, (x) => x === 'ok');
    expect(s.idDescarcare).toMatch(/^\d+$/);
    expect(s.indexIncarcare).toBe(up.indexIncarcare);

    const out = tempDir('gateway-out');
    const before = w.anaf.api.requests.descarcare;
    const d = await w.json<{ folder: string; files: string[]; kind: string; downloaded: boolean }>(['efactura', 'download', up.job, '--out', out]);
    expect(d.downloaded).toBe(true);
    expect(d.kind).toBe('invoice');
    expect(d.folder).toBe(path.join(out, CIF, s.idDescarcare!));
    // The invoice as sent, ANAF's signature, and the ZIP.
    expect(fs.readFileSync(path.join(d.folder, `${up.indexIncarcare}.xml`))).toEqual(fs.readFileSync(f));
    expect(d.files.some((x) => /^semnatura_/.test(x))).toBe(true);
    expect(w.anaf.api.requests.descarcare).toBe(before + 1);

    const again = await w.json<{ folder: string; downloaded: boolean }>(['efactura', 'download', up.job, '--out', out]);
    expect(again).toMatchObject({ folder: d.folder, downloaded: false });
    expect(w.anaf.api.requests.descarcare).toBe(before + 1);
  });

  it('reports a rejected invoice as nok with the errors from its ZIP', async () => {
    w.anaf.api.setOptions({ processing: { outcome: 'nok' } });
    const up = await w.json<JobJson>(['efactura', 'upload', file(), '--cif', CIF]);
    const s = await statusUntil(up.job, (x) => x === 'nok');
    expect(s.idDescarcare).toMatch(/^\d+$/);
    expect(s.errors).toEqual(DEFAULT_NOK_ERRORS);
  });

  it('sends the same document (hash + CIF + standard) once, and again only with --force', async () => {
    const f = file();
    const a = await w.json<JobJson>(['efactura', 'upload', f, '--cif', CIF]);
    const b = await w.json<JobJson>(['efactura', 'upload', f, '--cif', CIF]);
    expect(b).toMatchObject({ job: a.job, duplicate: true });
    expect(received(f)).toBe(1);
    // Another standard is another document to ANAF (here refused: its root is not a CreditNote).
    const c = await w.json<JobJson>(['efactura', 'upload', f, '--cif', CIF, '--force']);
    expect(c.job).not.toBe(a.job);
    expect(c.state).toBe('sent');
    expect(received(f)).toBe(2);
  });

  it('keeps an upload while ANAF is down and sends it once when it is back', async () => {
    const f = file();
    w.anaf.api.setFaults({ down: true });
    const up = await w.json<JobJson>(['efactura', 'upload', f, '--cif', CIF]);
    expect(['checking', 'queued']).toContain(up.state);
    expect(up.error?.code).toMatch(/ANAF_API_(UNAVAILABLE|NOT_REACHED)/);
    // Still down: asking does not lose it or send it.
    const still = await w.json<JobJson>(['efactura', 'status', up.job]);
    expect(['checking', 'queued']).toContain(still.state);
    expect(received(f)).toBe(0);

    w.anaf.api.clearFaults();
    const s = await statusUntil(up.job, (x) => x === 'ok');
    expect(s.indexIncarcare).toMatch(/^\d+$/);
    expect(received(f)).toBe(1);
  });

  it('refuses a document ANAF refuses, with its words, and an unknown job with its own code', async () => {
    w.anaf.api.setOptions({ spvCifs: ['99999999'] });
    try {
      const up = await w.json<JobJson>(['efactura', 'upload', file(), '--cif', CIF]);
      expect(up.state).toBe('refused');
      expect(up.error?.code).toBe('ANAF_API_NO_SPV_RIGHT');
    } finally {
      w.anaf.api.setOptions({ spvCifs: undefined });
    }
    const r = await w.cli(['efactura', 'status', 'jaaaaaaaaaaaaaaaaaaaa', '--json']);
    expect(r.code).toBe(3);
    expect(r.stdout + r.stderr).toContain('GATEWAY_JOB_NOT_FOUND');
  });
});
