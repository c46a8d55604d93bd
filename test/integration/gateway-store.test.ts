/**
 * The gateway's store, both engines (SQLite in a temp folder, a real PostgreSQL): jobs accepted
 * once per document, taken by one owner at a time under a lease, a dead owner's sending job
 * turned into `checking`, a lost lease not overwritten; ANAF's limits counted all or nothing.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePaths } from '../../native-host/src/config/paths.js';
import { PgGatewayStore } from '../../native-host/src/gateway/pg-store.js';
import { SqliteGatewayStore } from '../../native-host/src/gateway/sqlite-store.js';
import { nextRomanianDay, romanianDay, type GatewayStore } from '../../native-host/src/gateway/store.js';
import { ANAF_LIMITS, type NewJob } from '../../native-host/src/gateway/types.js';
import { startPostgres, type Pg } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';

let pg: Pg;
const stores: Record<string, GatewayStore> = {};

beforeAll(async () => {
  pg = await startPostgres();
  await pg.createDatabase('gw');
  stores.sqlite = SqliteGatewayStore.open(resolvePaths(tempDir('gw-store')));
  stores.postgres = await PgGatewayStore.connect(pg.url('gw'), Date.now());
}, 120_000);

afterAll(async () => {
  for (const s of Object.values(stores)) await s.close();
  await pg?.destroy();
});

let n = 0;
const job = (over: Partial<NewJob> = {}): NewJob => {
  const doc = Buffer.from(`<Invoice>${++n}-${Math.random()}</Invoice>`);
  return {
    id: `j${crypto.randomBytes(10).toString('hex').slice(0, 20)}`,
    profile: 'p',
    kind: 'efactura',
    cif: '123',
    standard: 'UBL',
    flags: {},
    hash: crypto.createHash('sha256').update(doc).digest('hex'),
    doc,
    force: false,
    now: 1_000,
    ...over,
  };
};

describe.each(['sqlite', 'postgres'])('the gateway store on %s', (engine) => {
  const s = () => stores[engine]!;

  it('accepts a document once per CIF and standard unless forced', async () => {
    const a = job();
    const [first] = await s().submit([a]);
    const [again] = await s().submit([{ ...a, id: job().id }]);
    expect(again).toMatchObject({ duplicate: true, job: { id: a.id } });
    const [other] = await s().submit([{ ...a, id: job().id, standard: 'CN' }]);
    expect(other!.duplicate).toBe(false);
    const [forced] = await s().submit([{ ...a, id: job().id, force: true }]);
    expect(forced).toMatchObject({ duplicate: false, job: { forced: true, state: 'queued' } });
    expect(first!.job.state).toBe('queued');
  });

  it("gives a job to one owner at a time; a dead owner's sending job is checked, a lost lease not overwritten", async () => {
    const t = 10_000_000 + n * 1_000_000;
    const ids = [job({ now: t }), job({ now: t })];
    await s().submit(ids);
    const a = await s().claim({ owner: 'A', now: t, leaseMs: 1000, limit: 10, ids: ids.map((j) => j.id) });
    const b = await s().claim({ owner: 'B', now: t, leaseMs: 1000, limit: 10, ids: ids.map((j) => j.id) });
    expect(a.map((j) => j.state)).toEqual(['sending', 'sending']);
    expect(a[0]!.doc.equals(ids[0]!.doc) || a[0]!.doc.equals(ids[1]!.doc)).toBe(true);
    expect(b).toEqual([]);
    // A died: once its lease ran out, B takes the jobs to check them, and A's late write is refused.
    const c = await s().claim({ owner: 'B', now: t + 1001, leaseMs: 1000, limit: 10, ids: ids.map((j) => j.id) });
    expect(c.map((j) => j.state)).toEqual(['checking', 'checking']);
    const late = await s().release([{ id: ids[0]!.id, owner: 'A', patch: { state: 'sent', indexIncarcare: '5' } }], t + 1002);
    expect(late).toEqual([undefined]);
    const mine = await s().release([{ id: ids[0]!.id, owner: 'B', patch: { state: 'ok', indexIncarcare: '7', idDescarcare: '8' } }], t + 1003);
    expect(mine[0]).toMatchObject({ state: 'ok', indexIncarcare: '7', leaseOwner: undefined });
    expect((await s().byIndex('7'))!.id).toBe(ids[0]!.id);
  });

  it("counts ANAF's limits: a call past one is not counted and says until when", async () => {
    const rules = { ...ANAF_LIMITS, perMinute: 5, stareMesaj: 3 };
    const now = Date.parse('2030-01-01T10:00:00Z') + n * 120_000;
    const key = `idx-${engine}-${n}`;
    const v = await s().take(
      Array.from({ length: 4 }, () => ({ daily: { kind: 'stareMesaj' as const, key } })),
      now,
      rules,
    );
    expect(v.map((x) => x.ok)).toEqual([true, true, true, false]);
    expect(v[3]).toMatchObject({ kind: 'stareMesaj', limit: 3, retryAtMs: nextRomanianDay(now) });
    expect(await s().counted({ kind: 'stareMesaj', key }, now)).toBe(3);
    const m = await s().take([{}, {}, {}], now + 500, rules);
    expect(m.map((x) => x.ok)).toEqual([true, true, false]);
    expect(m[2]).toMatchObject({ kind: 'minute', limit: 5 });
    expect(m[2]!.ok === false && m[2]!.retryAtMs).toBeGreaterThan(now);
    expect(m[2]!.ok === false && m[2]!.retryAtMs).toBeLessThanOrEqual(now + 62_000);
    // A minute and a second later the window is empty again.
    expect((await s().take([{}], now + 62_000, rules))[0]!.ok).toBe(true);
  });
});

it('counts days as Romania does', () => {
  expect(romanianDay(Date.parse('2026-11-30T21:59:00Z'))).toBe('2026-11-30');
  expect(romanianDay(Date.parse('2026-11-30T22:00:00Z'))).toBe('2026-12-01');
  expect(new Date(nextRomanianDay(Date.parse('2026-11-30T12:00:00Z'))).toISOString()).toBe('2026-11-30T22:00:00.000Z');
});
