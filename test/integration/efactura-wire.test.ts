/**
 * The e-Factura wire client (native-host/src/efactura/) against the stand-in over real HTTPS on
 * loopback: every endpoint's round trip, every fault as its typed error, the ZIP unpacked, and
 * ANAF's limits refused the way ANAF refuses them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '#shared/errors.js';
import {
  apiEndpoints,
  downloadMessage,
  withTokenRetry,
  listMessages,
  listMessagesPage,
  messageState,
  uploadInvoice,
  uploadOutcomeUnknown,
  validateXml,
  xmlToPdf,
  type ApiCall,
} from '../../native-host/src/efactura/index.js';
import { send } from '../../native-host/src/efactura/wire.js';
import { DEFAULT_NOK_ERRORS } from '../anaf-standin/efactura.js';
import { ANAF_LIMITS } from '../anaf-standin/efactura-limits.js';
import { startEfacturaWorld, type EfacturaWorld } from '../anaf-standin/efactura-world.js';

const CIF = '12345678';
const DAY_MS = 86_400_000;
const invoice = (id = 'F-1', extra = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>${id}</cbc:ID><cbc:IssueDate>2026-11-30</cbc:IssueDate>${extra}</Invoice>`;
const creditNote = `<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>CN-1</cbc:ID><cbc:IssueDate>2026-11-30</cbc:IssueDate></CreditNote>`;

let w: EfacturaWorld;
let call: ApiCall;

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  const e = await failure(p);
  expect(e.code, e.detail).toBe(code);
  return e;
}

/** Uploads, then lets the stand-in's clock run past processing. */
async function uploaded(xml = invoice()): Promise<string> {
  const r = await uploadInvoice(call, { xml, cif: CIF });
  w.anaf.advanceClock(1);
  return r.indexIncarcare;
}

beforeAll(async () => {
  w = await startEfacturaWorld();
  call = w.call;
});
afterAll(async () => {
  await w.close();
});
beforeEach(async () => {
  // A token of its own for each test: some move the stand-in's clock past a token's 90 days.
  call = { ...w.call, accessToken: await w.newToken() };
  w.anaf.api.clearFaults();
  w.anaf.api.setOptions({
    limits: ANAF_LIMITS,
    processing: { delayMs: 0, outcome: 'ok', errors: DEFAULT_NOK_ERRORS },
    spvCifs: undefined,
    unauthorizedStatus: undefined,
  });
  w.anaf.api.resetCounters();
});

describe('an invoice sent, tracked and fetched', () => {
  it('uploads, is "in prelucrare" until ANAF has processed it, then ok; the ZIP holds the invoice and ANAF\'s signature', async () => {
    w.anaf.api.setOptions({ processing: { delayMs: 30_000 } });
    const xml = invoice('F-100');
    const receipt = await uploadInvoice(call, { xml, cif: `RO${CIF}` });
    expect(receipt.indexIncarcare).toMatch(/^\d+$/);
    expect(receipt.dateResponse).toMatch(/^\d{12}$/);
    expect(w.anaf.api.efactura.uploads.get(receipt.indexIncarcare)?.standard).toBe('UBL');

    expect(await messageState(call, receipt.indexIncarcare)).toEqual({ state: 'processing', raw: 'in prelucrare', idDescarcare: undefined });
    w.anaf.advanceClock(31);
    const done = await messageState(call, receipt.indexIncarcare);
    expect(done.state).toBe('ok');
    expect(done.idDescarcare).toMatch(/^\d+$/);
    expect(w.anaf.api.daily('stareMesaj', receipt.indexIncarcare)).toBe(2);

    const d = await downloadMessage(call, done.idDescarcare!);
    expect(d.kind).toBe('invoice');
    expect(d.document.name).toBe(`${receipt.indexIncarcare}.xml`);
    expect(d.document.data.toString('utf8')).toBe(xml);
    expect(d.signature.name).toBe(`semnatura_${receipt.indexIncarcare}.xml`);
    expect(d.signature.data.toString('utf8')).toContain('<SignatureValue>');
    expect(d.errors).toEqual([]);
    expect(d.zip.subarray(0, 2).toString()).toBe('PK');
  });

  it("nok: the state says so and the ZIP holds ANAF's errors", async () => {
    const errors = ['E: [BR-CO-15] suma nu corespunde', 'E: [BR-RO-110] judetul lipseste & "altele"'];
    w.anaf.api.setOptions({ processing: { outcome: 'nok', errors } });
    const index = await uploaded();
    const s = await messageState(call, index);
    expect(s.state).toBe('nok');
    const d = await downloadMessage(call, s.idDescarcare!);
    expect(d.kind).toBe('errors');
    expect(d.errors).toEqual(errors);
    expect(d.document.data.toString('utf8')).toContain('mesajEroriFactuta');
  });

  it('"XML cu erori nepreluat de sistem": a final state without a download', async () => {
    w.anaf.api.setOptions({ processing: { outcome: 'xml-errors' } });
    const index = await uploaded();
    expect(await messageState(call, index)).toEqual({ state: 'xml-errors', raw: 'XML cu erori nepreluat de sistem', idDescarcare: undefined });
  });

  it('sends uploadb2c, credit notes, CII, RASP and the extern / autofactura / executare flags as ANAF reads them', async () => {
    const b2c = await uploadInvoice(call, { xml: invoice(), cif: CIF, b2c: true, extern: true, autofactura: true, executare: true });
    const rec = w.anaf.api.efactura.uploads.get(b2c.indexIncarcare)!;
    expect(rec.b2c).toBe(true);
    expect(rec.flags).toEqual({ extern: true, autofactura: true, executare: true });
    expect(w.anaf.api.requests.uploadb2c).toBe(1);
    const cn = await uploadInvoice(call, { xml: creditNote, cif: CIF, standard: 'CN' });
    expect(w.anaf.api.efactura.uploads.get(cn.indexIncarcare)?.standard).toBe('CN');
    const cii = await uploadInvoice(call, {
      xml: '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>',
      cif: CIF,
      standard: 'CII',
    });
    expect(w.anaf.api.efactura.uploads.get(cii.indexIncarcare)?.standard).toBe('CII');
    const rasp = await uploadInvoice(call, {
      xml: '<header xmlns="mfp:anaf:dgti:efactura:reqMesaj:v1" index_incarcare="5000000001" message="Marfa a ajuns"/>',
      cif: CIF,
      standard: 'RASP',
    });
    expect(w.anaf.api.efactura.uploads.get(rasp.indexIncarcare)?.standard).toBe('RASP');
  });
});

describe('upload refusals', () => {
  it('a file ANAF finds not valid is ANAF_API_REFUSED with its reason', async () => {
    const bad = await expectCode(uploadInvoice(call, { xml: '<Invoice><cbc:ID>', cif: CIF }), 'ANAF_API_REFUSED');
    expect(bad.detail).toContain('Fisierul transmis nu este valid');
    await expectCode(uploadInvoice(call, { xml: creditNote, cif: CIF, standard: 'UBL' }), 'ANAF_API_REFUSED');
  });

  it('no right in SPV on the CIF is ANAF_API_NO_SPV_RIGHT, for uploads, state, lists and downloads alike', async () => {
    const index = await uploaded();
    const id = (await messageState(call, index)).idDescarcare!;
    w.anaf.api.setOptions({ spvCifs: ['99999999'] });
    const e = await expectCode(uploadInvoice(call, { xml: invoice(), cif: CIF }), 'ANAF_API_NO_SPV_RIGHT');
    expect(e.detail).toContain(`CIF=${CIF}`);
    await expectCode(messageState(call, index), 'ANAF_API_NO_SPV_RIGHT');
    await expectCode(listMessages(call, { cif: CIF, days: 1 }), 'ANAF_API_NO_SPV_RIGHT');
    await expectCode(downloadMessage(call, id), 'ANAF_API_NO_SPV_RIGHT');
  });

  it('a file over 5 MB or an unusable argument is refused here, before anything is sent', async () => {
    const big = invoice('F-BIG', `<cbc:Note>${'x'.repeat(5_000_000)}</cbc:Note>`);
    await expectCode(uploadInvoice(call, { xml: big, cif: CIF }), 'ANAF_API_FILE_TOO_LARGE');
    await expectCode(uploadInvoice(call, { xml: invoice(), cif: 'RO12A' }), 'BAD_REQUEST');
    await expectCode(messageState(call, '12; drop'), 'BAD_REQUEST');
    await expectCode(listMessages(call, { cif: CIF, days: 61 }), 'BAD_REQUEST');
    expect(w.anaf.api.requests.upload + w.anaf.api.requests.stareMesaj + w.anaf.api.requests.listaMesajeFactura).toBe(0);
  });

  it('an unknown upload index is ANAF_API_NOT_FOUND', async () => {
    await expectCode(messageState(call, '4999999999'), 'ANAF_API_NOT_FOUND');
    await expectCode(downloadMessage(call, '2999999999'), 'ANAF_API_NOT_FOUND');
  });
});

describe('message lists', () => {
  const cif = '22222222';

  it('the simple list, filtered; an empty list is empty, not an error', async () => {
    expect((await listMessages(call, { cif, days: 60 })).messages).toEqual([]);
    const sent = (await uploadInvoice(call, { xml: invoice('L-1'), cif })).indexIncarcare;
    w.anaf.api.setOptions({ processing: { outcome: 'nok' } });
    const rejected = (await uploadInvoice(call, { xml: invoice('L-2'), cif })).indexIncarcare;
    w.anaf.api.seedMessages(cif, 2);
    w.anaf.advanceClock(1);
    const all = await listMessages(call, { cif, days: 1 });
    expect(all.messages.map((m) => m.type).sort()).toEqual(['ERORI FACTURA', 'FACTURA PRIMITA', 'FACTURA PRIMITA', 'FACTURA TRIMISA']);
    const mine = all.messages.find((m) => m.uploadIndex === sent)!;
    expect(mine).toMatchObject({ cif, type: 'FACTURA TRIMISA' });
    expect(mine.createdAt).toMatch(/^\d{12}$/);
    expect(mine.id).toBe((await messageState(call, sent)).idDescarcare);
    const errors = await listMessages(call, { cif, days: 1, filter: 'E' });
    expect(errors.messages.map((m) => m.uploadIndex)).toEqual([rejected]);
    expect((await listMessages(call, { cif, days: 1, filter: 'P' })).messages).toHaveLength(2);
    expect(w.anaf.api.daily('listaSimple', cif)).toBe(4);
  });

  it('past 500 messages the simple list refuses; the paginated one gives them 500 a page', async () => {
    const big = '33333333';
    w.anaf.api.seedMessages(big, 1203);
    const refused = await expectCode(listMessages(call, { cif: big, days: 1 }), 'ANAF_API_REFUSED');
    expect(refused.detail).toContain('paginatie');
    w.anaf.advanceClock(5);
    const now = w.anaf.api.nowMs();
    const q = { cif: big, startTime: now - DAY_MS, endTime: now };
    const p1 = await listMessagesPage(call, { ...q, page: 1 });
    expect(p1).toMatchObject({ page: 1, totalPages: 3, totalRecords: 1203, perPage: 500 });
    expect(p1.messages).toHaveLength(500);
    const p3 = await listMessagesPage(call, { ...q, page: 3 });
    expect(p3.messages).toHaveLength(203);
    const ids = new Set([...p1.messages, ...(await listMessagesPage(call, { ...q, page: 2 })).messages, ...p3.messages].map((m) => m.id));
    expect(ids.size).toBe(1203);
    await expectCode(listMessagesPage(call, { ...q, page: 4 }), 'ANAF_API_REFUSED');
    expect(w.anaf.api.daily('listaPaginated', big)).toBe(4);
  });

  it('a period starting more than 60 days back is ANAF_API_TOO_OLD; an empty period is empty', async () => {
    const now = w.anaf.api.nowMs();
    await expectCode(listMessagesPage(call, { cif, startTime: now - 61 * DAY_MS, endTime: now - DAY_MS, page: 1 }), 'ANAF_API_TOO_OLD');
    const empty = await listMessagesPage(call, { cif: '44444444', startTime: now - DAY_MS, endTime: now - 1000, page: 1 });
    expect(empty).toMatchObject({ messages: [], totalPages: 0, totalRecords: 0 });
  });
});

describe("ANAF's limits", () => {
  it('stareMesaj: the 101st question about one message in a day is refused (HTTP 200), the next day answered', async () => {
    const index = await uploaded();
    for (let i = 0; i < ANAF_LIMITS.stareMesajPerMessage; i++) expect((await messageState(call, index)).state).toBe('ok');
    const e = await expectCode(messageState(call, index), 'ANAF_API_DAILY_LIMIT');
    expect(e.detail).toContain('S-au facut deja 100');
    expect(w.anaf.api.daily('stareMesaj', index)).toBe(101);
    expect(w.anaf.api.refused().daily.stareMesaj).toBe(1);
    w.anaf.advanceClock(24 * 3600);
    expect((await messageState(call, index)).state).toBe('ok');
    expect(w.anaf.api.daily('stareMesaj', index)).toBe(1);
  });

  it('descarcare: 10 a day per message, then refused', async () => {
    const id = (await messageState(call, await uploaded())).idDescarcare!;
    for (let i = 0; i < 10; i++) await downloadMessage(call, id);
    const e = await expectCode(downloadMessage(call, id), 'ANAF_API_DAILY_LIMIT');
    expect(e.detail).toContain(`id_descarcare=${id}`);
    expect(w.anaf.api.maxDaily('descarcare')).toBe(11);
  });

  it('lists and RASP uploads are counted per CIF and day', async () => {
    w.anaf.api.setOptions({ limits: { listaSimplePerCif: 2, listaPaginatedPerCif: 1, raspUploadsPerCif: 1 } });
    await listMessages(call, { cif: CIF, days: 1 });
    await listMessages(call, { cif: CIF, days: 1 });
    await expectCode(listMessages(call, { cif: CIF, days: 1 }), 'ANAF_API_DAILY_LIMIT');
    await listMessages(call, { cif: '55555555', days: 1 });
    const now = w.anaf.api.nowMs();
    await listMessagesPage(call, { cif: CIF, startTime: now - DAY_MS, endTime: now - 1, page: 1 });
    await expectCode(listMessagesPage(call, { cif: CIF, startTime: now - DAY_MS, endTime: now - 1, page: 1 }), 'ANAF_API_DAILY_LIMIT');
    const rasp = '<header xmlns="mfp:anaf:dgti:efactura:reqMesaj:v1" index_incarcare="1" message="ok"/>';
    await uploadInvoice(call, { xml: rasp, cif: CIF, standard: 'RASP' });
    await expectCode(uploadInvoice(call, { xml: rasp, cif: CIF, standard: 'RASP' }), 'ANAF_API_DAILY_LIMIT');
    // Invoices are not RASP messages: not counted against it.
    await uploadInvoice(call, { xml: invoice(), cif: CIF });
  });

  it('past the calls a minute ANAF answers 429: ANAF_API_RATE_LIMITED', async () => {
    w.anaf.api.setOptions({ limits: { perMinute: 5 } });
    const index = await uploaded();
    for (let i = 0; i < 4; i++) await messageState(call, index);
    const e = await expectCode(messageState(call, index), 'ANAF_API_RATE_LIMITED');
    expect(e.detail).toContain('retry after 60');
    expect(w.anaf.api.refused().perMinute).toBe(1);
    w.anaf.advanceClock(61);
    await messageState(call, index);
    expect(w.anaf.api.peakPerMinute()).toBe(6);
  });
});

describe('downloads', () => {
  it('a message older than 60 days is ANAF_API_TOO_OLD', async () => {
    const id = (await messageState(call, await uploaded())).idDescarcare!;
    w.anaf.advanceClock(61 * 86_400);
    const fresh = { ...call, accessToken: await w.newToken() };
    await expectCode(downloadMessage(fresh, id), 'ANAF_API_TOO_OLD');
  });

  it.each([['traversal'], ['bomb'], ['truncated']] as const)('a %s ZIP is refused whole: ANAF_API_ARCHIVE_INVALID', async (zip) => {
    const id = (await messageState(call, await uploaded())).idDescarcare!;
    w.anaf.api.setFaults({ endpoints: ['descarcare'], zip, times: 1 });
    const e = await expectCode(downloadMessage(call, id), 'ANAF_API_ARCHIVE_INVALID');
    if (zip === 'traversal') expect(e.detail).toContain('unsafe name');
    if (zip === 'bomb') expect(e.detail).toContain('size limit');
    // The same message, served whole, unpacks.
    expect((await downloadMessage(call, id)).kind).toBe('invoice');
  });
});

describe('faults', () => {
  it('the token: missing, unknown or expired is 401, revoked 403; both ANAF_API_NOT_AUTHORIZED', async () => {
    const e = await expectCode(messageState({ ...call, accessToken: 'not-a-token' }, '5000000001'), 'ANAF_API_NOT_AUTHORIZED');
    expect(e.detail).toContain('401 invalid_token');
    w.anaf.api.setOptions({ unauthorizedStatus: 403 });
    expect((await expectCode(messageState({ ...call, accessToken: 'x' }, '5000000001'), 'ANAF_API_NOT_AUTHORIZED')).detail).toContain('403');
    w.anaf.api.setOptions({ unauthorizedStatus: undefined });
    const short = { ...call, accessToken: await w.newToken() };
    w.anaf.advanceClock(91 * 86_400);
    await expectCode(listMessages(short, { cif: CIF, days: 1 }), 'ANAF_API_NOT_AUTHORIZED');
    expect(w.anaf.api.unauthorized.count).toBe(3);
  });

  it('ANAF down (503) and HTTP 500 are ANAF_API_UNAVAILABLE; 400 is ANAF_API_REFUSED', async () => {
    w.anaf.api.setFaults({ down: true, times: 1 });
    await expectCode(listMessages(call, { cif: CIF, days: 1 }), 'ANAF_API_UNAVAILABLE');
    w.anaf.api.setFaults({ status: 500, times: 1 });
    const e = await expectCode(uploadInvoice(call, { xml: invoice(), cif: CIF }), 'ANAF_API_UNAVAILABLE');
    expect(uploadOutcomeUnknown(e)).toBe(true);
    w.anaf.api.setFaults({ status: 400, times: 1 });
    await expectCode(messageState(call, '5000000001'), 'ANAF_API_REFUSED');
    expect(w.anaf.api.efactura.uploads.size).toBeGreaterThan(0);
  });

  it("the firewall's HTML page (HTTP 200) is ANAF_API_FIREWALL with its support ID, and nothing was accepted", async () => {
    const before = w.anaf.api.efactura.uploads.size;
    w.anaf.api.setFaults({ waf: true, endpoints: ['upload'], times: 1 });
    const e = await expectCode(uploadInvoice(call, { xml: invoice(), cif: CIF }), 'ANAF_API_FIREWALL');
    expect(e.detail).toMatch(/support ID \d{20}/);
    expect(uploadOutcomeUnknown(e)).toBe(false);
    expect(w.anaf.api.efactura.uploads.size).toBe(before);
  });

  it.each([
    ['noSpvRight', 'ANAF_API_NO_SPV_RIGHT'],
    ['tooOld', 'ANAF_API_TOO_OLD'],
    ['dailyLimit', 'ANAF_API_DAILY_LIMIT'],
  ] as const)('HTTP 200 refusal %s is %s on every e-Factura endpoint', async (kind, code) => {
    w.anaf.api.setFaults({ eroare: kind });
    await expectCode(uploadInvoice(call, { xml: invoice(), cif: CIF }), code);
    await expectCode(messageState(call, '5000000001'), code);
    await expectCode(listMessages(call, { cif: CIF, days: 1 }), code);
    await expectCode(listMessagesPage(call, { cif: CIF, startTime: w.anaf.api.nowMs() - DAY_MS, endTime: w.anaf.api.nowMs() - 1, page: 1 }), code);
    await expectCode(downloadMessage(call, '3000000001'), code);
  });

  it('an answer lost after ANAF accepted the upload is ANAF_API_ANSWER_LOST, and the upload is in the message list', async () => {
    const cif = '66666666';
    w.anaf.api.setFaults({ lostAfterAccept: true, endpoints: ['upload'], times: 1 });
    const e = await expectCode(uploadInvoice(call, { xml: invoice('LOST-1'), cif }), 'ANAF_API_ANSWER_LOST');
    expect(uploadOutcomeUnknown(e)).toBe(true);
    w.anaf.advanceClock(1);
    const now = w.anaf.api.nowMs();
    const page = await listMessagesPage(call, { cif, startTime: now - DAY_MS, endTime: now, page: 1, filter: 'T' });
    expect(page.messages).toHaveLength(1);
    const index = page.messages[0]!.uploadIndex!;
    expect(w.anaf.api.efactura.uploads.get(index)?.xml.toString()).toContain('LOST-1');
  });

  it('a connection cut before ANAF processed anything is ANAF_API_ANSWER_LOST too (the client cannot tell), and nothing is in the list', async () => {
    const before = w.anaf.api.efactura.uploads.size;
    w.anaf.api.setFaults({ dropBeforeProcessing: true, endpoints: ['upload'], times: 1 });
    await expectCode(uploadInvoice(call, { xml: invoice(), cif: CIF }), 'ANAF_API_ANSWER_LOST');
    expect(w.anaf.api.efactura.uploads.size).toBe(before);
  });

  it('slow ANAF: past the deadline the answer is lost; under it the answer arrives', async () => {
    w.anaf.api.setFaults({ slowMs: 1500, times: 1 });
    const slowCall = { ...call, wire: { ...call.wire, timeoutMs: 300 } };
    const e = await expectCode(listMessages(slowCall, { cif: CIF, days: 1 }), 'ANAF_API_ANSWER_LOST');
    expect(e.detail).toContain('no answer within');
    w.anaf.api.setFaults({ slowMs: 200, times: 1 });
    expect((await listMessages(call, { cif: CIF, days: 1 })).messages).toBeInstanceOf(Array);
  });

  it('a server that cannot be reached is ANAF_API_NOT_REACHED: nothing was sent', async () => {
    const net = await import('node:net');
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const gone = { ...call, endpoints: apiEndpoints(`https://127.0.0.1:${port}/test`) };
    const e = await expectCode(uploadInvoice(gone, { xml: invoice(), cif: CIF }), 'ANAF_API_NOT_REACHED');
    expect(e.detail).toContain('ECONNREFUSED');
    expect(uploadOutcomeUnknown(e)).toBe(false);
    // A server whose certificate is not trusted is not ANAF: nothing is sent to it.
    const untrusted = { ...call, wire: { timeoutMs: 5000 } };
    const t = await expectCode(uploadInvoice(untrusted, { xml: invoice(), cif: CIF }), 'ANAF_API_NOT_REACHED');
    expect(t.detail).toMatch(/CERT/);
  });

  it('a refused token is refreshed once and the call retried once, never more', async () => {
    const index = await uploaded();
    let refreshes = 0;
    const tokens = (fresh: () => Promise<string>) => ({
      current: async () => 'stale-token',
      refreshed: async () => {
        refreshes += 1;
        return fresh();
      },
    });
    const ok = await withTokenRetry(
      tokens(() => w.newToken()),
      (t) => messageState({ ...call, accessToken: t }, index),
    );
    expect([ok.state, refreshes]).toEqual(['ok', 1]);
    const before = w.anaf.api.requests.stareMesaj;
    await expectCode(
      withTokenRetry(
        tokens(async () => 'still-bad'),
        (t) => messageState({ ...call, accessToken: t }, index),
      ),
      'ANAF_API_NOT_AUTHORIZED',
    );
    expect([w.anaf.api.requests.stareMesaj - before, refreshes]).toEqual([2, 2]);
    // Other failures are not retried.
    w.anaf.api.setFaults({ status: 503, times: 5 });
    await expectCode(
      withTokenRetry(
        tokens(() => w.newToken()),
        (t) => messageState({ ...call, accessToken: t }, index),
      ),
      'ANAF_API_UNAVAILABLE',
    );
    expect(refreshes).toBe(2);
  });

  it('an answer larger than the call expects is refused unread: ANAF_API_BAD_ANSWER', async () => {
    w.anaf.api.seedMessages('77777777', 3);
    const url = `${call.endpoints.efactura}/listaMesajeFactura?zile=1&cif=77777777`;
    const e = await expectCode(
      send({ method: 'GET', url, headers: { authorization: `Bearer ${call.accessToken}` }, maxAnswerBytes: 200, what: 'list' }, call.wire),
      'ANAF_API_BAD_ANSWER',
    );
    expect(e.detail).toMatch(/announces \d+ bytes, more than the 200 expected/);
    const whole = await send(
      { method: 'GET', url, headers: { authorization: `Bearer ${call.accessToken}` }, maxAnswerBytes: 64 * 1024, what: 'list' },
      call.wire,
    );
    expect(whole.status).toBe(200);
  });

  it('no error detail carries the access token', async () => {
    w.anaf.api.setFaults({ status: 401, times: 1 });
    const e = await failure(listMessages(call, { cif: CIF, days: 1 }));
    expect(`${e.message} ${e.detail ?? ''}`).not.toContain(call.accessToken);
  });
});

describe('validare and transformare (no token)', () => {
  it("validates an invoice and a credit note; lists ANAF's findings on a bad one", async () => {
    expect(await validateXml(w.publicCall, invoice())).toMatchObject({ valid: true, messages: [] });
    expect((await validateXml(w.publicCall, creditNote, 'FCN')).valid).toBe(true);
    const bad = await validateXml(w.publicCall, '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>');
    expect(bad.valid).toBe(false);
    expect(bad.messages.join(' ')).toContain('BR-02');
    expect(bad.traceId).toMatch(/-/);
    expect(w.anaf.api.requests.validare).toBe(3);
  });

  it('renders a PDF; refuses an invalid invoice unless asked not to validate', async () => {
    const pdf = await xmlToPdf(w.publicCall, invoice('PDF-7'));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.toString('latin1')).toContain('PDF-7');
    const noDate = '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>X-1</ID></Invoice>';
    const e = await expectCode(xmlToPdf(w.publicCall, noDate), 'ANAF_API_REFUSED');
    expect(e.detail).toContain('BR-03');
    expect((await xmlToPdf(w.publicCall, noDate, 'FACT1', { validate: false })).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it("on the test environment both answer 404, as ANAF's do", async () => {
    const onTest = { endpoints: call.endpoints, wire: call.wire };
    const e = await expectCode(validateXml(onTest, invoice()), 'ANAF_API_REFUSED');
    expect(e.detail).toContain('404');
  });
});
