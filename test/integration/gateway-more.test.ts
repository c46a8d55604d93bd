/**
 * The rest of the gateway's CLI against the stand-in: e-Transport upload → UIT → ok, its list;
 * e-Factura's message list through the paginated endpoint (more than one page); validation and
 * PDF through the public endpoints; and the limits refusing a download ANAF would count past 10.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIF, invoice, startGatewayWorld, type GatewayWorld } from '../helpers/gateway-world.js';
import { tempDir } from '../helpers/temp.js';

let w: GatewayWorld;
let dir: string;

const transport = (ref: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><eTransport xmlns="mfp:anaf:dgti:eTransport:declaratie:v2" codDeclarant="${CIF}" refDeclarant="${ref}"><notificare codTipOperatiune="30"/></eTransport>`;

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

beforeAll(async () => {
  w = await startGatewayWorld();
  dir = tempDir('gateway-more');
  w.anaf.api.setOptions({ publicOnTest: true });
}, 60_000);

afterAll(async () => {
  await w.close();
});

describe('anaf-token etransport and the rest of efactura', () => {
  it('declares a transport, gets its UIT, follows it to ok and lists it', async () => {
    const up = await w.json<{ job: string; state: string; uit?: string; indexIncarcare?: string }>([
      'etransport',
      'upload',
      write('t1.xml', transport('R-1')),
      '--cif',
      CIF,
    ]);
    expect(up.state).toBe('sent');
    expect(up.uit).toMatch(/\S+/);
    let s = up;
    for (let i = 0; i < 5 && s.state !== 'ok'; i++) s = await w.json(['etransport', 'status', up.job]);
    expect(s.state).toBe('ok');
    const list = await w.json<{ records: Record<string, unknown>[] }>(['etransport', 'list', '--cif', CIF, '--days', '5']);
    expect(list.records.length).toBeGreaterThanOrEqual(1);
  });

  it('lists every page of the messages (paginated endpoint, each page counted)', async () => {
    const ids = w.anaf.api.seedMessages(CIF, 620, { atMs: w.anaf.api.nowMs() - 60_000 });
    const before = w.anaf.api.requests.listaMesajePaginatieFactura;
    const r = await w.json<{ messages: { id: string }[] }>(['efactura', 'messages', '--cif', CIF, '--days', '3']);
    const got = new Set(r.messages.map((m) => m.id));
    for (const id of ids) expect(got.has(id)).toBe(true);
    expect(w.anaf.api.requests.listaMesajePaginatieFactura - before).toBe(2);
    expect(w.anaf.api.requests.listaMesajeFactura).toBe(0);
  });

  it('validates and renders through the public endpoints, without a token', async () => {
    const f = write('v.xml', invoice('V-1'));
    const v = await w.json<{ valid: boolean }>(['efactura', 'validate', f, '--profile', w.profile]);
    expect(v.valid).toBe(true);
    const bad = await w.cli([
      'efactura',
      'validate',
      write('bad.xml', '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"></Invoice>'),
      '--profile',
      w.profile,
      '--json',
    ]);
    expect(bad.code).not.toBe(0);
    const out = path.join(dir, 'v.pdf');
    const p = await w.json<{ file: string; bytes: number }>(['efactura', 'pdf', f, '--out', out, '--profile', w.profile]);
    expect(p.file).toBe(out);
    expect(fs.readFileSync(out).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });

  it("does not make an 11th download of a message in a day: ANAF's limit, kept here", async () => {
    const [id] = w.anaf.api.seedMessages(CIF, 1);
    // A fresh folder each time, so every one of these is a real download.
    for (let i = 0; i < 10; i++) await w.json(['efactura', 'download', id!, '--cif', CIF, '--out', tempDir('dl')]);
    expect(w.anaf.api.daily('descarcare', id!)).toBe(10);
    const r = await w.cli(['efactura', 'download', id!, '--cif', CIF, '--out', tempDir('dl'), '--json']);
    expect(r.code).toBe(5);
    expect(r.stdout + r.stderr).toContain('GATEWAY_DAILY_LIMIT');
    expect(w.anaf.api.daily('descarcare', id!)).toBe(10);
    expect(w.anaf.api.refused().daily.descarcare).toBe(0);
  });

  it("reconciles an upload whose answer was lost after ANAF accepted it: found in ANAF's list, not sent again", async () => {
    const f = write('lost.xml', invoice(`LOST-${Date.now()}`));
    w.anaf.api.setFaults({ endpoints: ['upload'], lostAfterAccept: true, times: 1 });
    const up = await w.json<{ job: string; state: string; error?: { code: string } }>(['efactura', 'upload', f, '--cif', CIF]);
    expect(up.state).toBe('checking');
    expect(up.error?.code).toBe('ANAF_API_ANSWER_LOST');
    const accepted = [...w.anaf.api.efactura.uploads.values()].filter((u) => u.xml.equals(fs.readFileSync(f)));
    expect(accepted.length).toBe(1);
    // ANAF lists it once processed (and our list stops a second short of now): look until found.
    let s = await w.json<{ state: string; indexIncarcare?: string; idDescarcare?: string }>(['efactura', 'status', up.job]);
    for (let i = 0; i < 8 && s.state === 'checking'; i++) {
      await sleep(400);
      s = await w.json(['efactura', 'status', up.job]);
    }
    expect(s).toMatchObject({ state: 'ok', indexIncarcare: accepted[0]!.index, idDescarcare: accepted[0]!.idDescarcare });
    expect([...w.anaf.api.efactura.uploads.values()].filter((u) => u.xml.equals(fs.readFileSync(f))).length).toBe(1);
  });

  it("takes ANAF's firewall page as not sent (sent again later), and a 401 as one refresh and one retry", async () => {
    const f = write('waf.xml', invoice(`WAF-${Date.now()}`));
    w.anaf.api.setFaults({ endpoints: ['upload'], waf: true, times: 1 });
    const up = await w.json<{ job: string; state: string; error?: { code: string } }>(['efactura', 'upload', f, '--cif', CIF]);
    expect(up).toMatchObject({ state: 'queued', error: { code: 'ANAF_API_FIREWALL' } });
    const s = await w.json<{ state: string }>(['efactura', 'status', up.job]);
    expect(['sent', 'ok']).toContain(s.state);

    const tokens = w.anaf.issued.accessTokens.length;
    w.anaf.api.setFaults({ endpoints: ['upload'], status: 401, times: 1 });
    const g = write('401.xml', invoice(`A401-${Date.now()}`));
    const again = await w.json<{ state: string }>(['efactura', 'upload', g, '--cif', CIF]);
    expect(again.state).toBe('sent');
    expect(w.anaf.issued.accessTokens.length).toBe(tokens + 1);
    expect(w.anaf.api.requests.upload).toBeGreaterThanOrEqual(2);
  });
});
