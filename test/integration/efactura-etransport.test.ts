/** The e-Transport wire client against the stand-in over HTTPS: upload → UIT, stareMesaj, lista, and ANAF's refusals. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '#shared/errors.js';
import { etransportList, etransportState, etransportUpload, type ApiCall } from '../../native-host/src/efactura/index.js';
import { DEFAULT_NOK_ERRORS } from '../anaf-standin/efactura.js';
import { ANAF_LIMITS } from '../anaf-standin/efactura-limits.js';
import { startEfacturaWorld, type EfacturaWorld } from '../anaf-standin/efactura-world.js';

const CIF = '14399840';
const declaration = (ref = 'R-1'): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<eTransport xmlns="mfp:anaf:dgti:eTransport:declarare:v2" codDeclarant="${CIF}" refDeclarant="${ref}"><notificare codTipOperatiune="30"/></eTransport>`;

let w: EfacturaWorld;
let call: ApiCall;

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    expect(e.code, e.detail).toBe(code);
    return e;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  w = await startEfacturaWorld();
});
afterAll(async () => {
  await w.close();
});
beforeEach(async () => {
  call = { ...w.call, accessToken: await w.newToken() };
  w.anaf.api.clearFaults();
  w.anaf.api.setOptions({ limits: ANAF_LIMITS, processing: { delayMs: 0, outcome: 'ok', errors: DEFAULT_NOK_ERRORS }, spvCifs: undefined });
  w.anaf.api.resetCounters();
});

describe('e-Transport', () => {
  it('a declaration gets its UIT at once, is "in prelucrare", then ok, and is listed', async () => {
    w.anaf.api.setOptions({ processing: { delayMs: 10_000 } });
    const r = await etransportUpload(call, { xml: declaration('R-7'), cif: `RO${CIF}` });
    expect(r.indexIncarcare).toMatch(/^\d+$/);
    expect(r.uit).toMatch(/^[0-9A-F]{15}$/);
    expect(r.traceId).toMatch(/-/);
    expect(w.anaf.api.etransport.uploads.get(r.indexIncarcare)?.version).toBe('2');
    expect(await etransportState(call, r.indexIncarcare)).toEqual({ state: 'processing', raw: 'in prelucrare', errors: [] });
    // Not listed while ANAF processes it: an empty list is empty, not an error.
    expect((await etransportList(call, { cif: CIF, days: 1 })).records).toEqual([]);
    w.anaf.advanceClock(11);
    expect((await etransportState(call, r.indexIncarcare)).state).toBe('ok');
    const list = await etransportList(call, { cif: CIF, days: 1 });
    expect(list.records).toHaveLength(1);
    expect(list.records[0]).toMatchObject({ uit: r.uit, stare: 'OK', id_incarcare: r.indexIncarcare });
    expect(w.anaf.api.requests).toMatchObject({ etUpload: 1, etStareMesaj: 2, etLista: 2 });
  });

  it("nok carries ANAF's reasons as the state, not as a failure of the question", async () => {
    w.anaf.api.setOptions({ processing: { outcome: 'nok' } });
    const r = await etransportUpload(call, { xml: declaration(), cif: CIF, version: 1 });
    w.anaf.advanceClock(1);
    const s = await etransportState(call, r.indexIncarcare);
    expect(s.state).toBe('nok');
    expect(s.errors).toEqual(['UIT-ul nu poate fi identificat.']);
  });

  it('refusals: an invalid declaration, no SPV right, an unknown id', async () => {
    await expectCode(etransportUpload(call, { xml: '<Invoice/>', cif: CIF }), 'ANAF_API_REFUSED');
    await expectCode(etransportState(call, '6999999999'), 'ANAF_API_NOT_FOUND');
    w.anaf.api.setOptions({ spvCifs: ['1'] });
    await expectCode(etransportUpload(call, { xml: declaration(), cif: CIF }), 'ANAF_API_NO_SPV_RIGHT');
    await expectCode(etransportList(call, { cif: CIF, days: 60 }), 'ANAF_API_NO_SPV_RIGHT');
  });

  it('faults: the firewall, a lost answer after the UIT was issued, a forced daily limit', async () => {
    w.anaf.api.setFaults({ waf: true, times: 1 });
    await expectCode(etransportList(call, { cif: CIF, days: 1 }), 'ANAF_API_FIREWALL');
    const before = w.anaf.api.etransport.uploads.size;
    w.anaf.api.setFaults({ lostAfterAccept: true, endpoints: ['etUpload'], times: 1 });
    await expectCode(etransportUpload(call, { xml: declaration(), cif: CIF }), 'ANAF_API_ANSWER_LOST');
    expect(w.anaf.api.etransport.uploads.size).toBe(before + 1);
    w.anaf.api.setFaults({ eroare: 'dailyLimit', times: 1 });
    await expectCode(etransportState(call, '6000000001'), 'ANAF_API_DAILY_LIMIT');
    await expectCode(etransportList({ ...call, accessToken: 'nope' }, { cif: CIF, days: 1 }), 'ANAF_API_NOT_AUTHORIZED');
  });
});
