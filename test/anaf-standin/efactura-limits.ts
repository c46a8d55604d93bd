// ANAF's API limits as the stand-in counts them (../shared/anaf-facts.md, limiteApeluriAPI):
// calls a minute over all API calls (a sliding 60 s window: stricter than a fixed minute, so a
// client that keeps under it keeps under either), and daily counts per CIF or per message on
// the Romanian calendar day of the stand-in's clock. Every call that reaches an endpoint is
// counted, refused or not, so a test can prove that our side never sent one past a limit.

export type DailyKind = 'stareMesaj' | 'descarcare' | 'listaSimple' | 'listaPaginated' | 'raspUpload';

export interface ApiLimits {
  perMinute: number;
  stareMesajPerMessage: number;
  descarcarePerMessage: number;
  listaSimplePerCif: number;
  listaPaginatedPerCif: number;
  raspUploadsPerCif: number;
}

export const ANAF_LIMITS: ApiLimits = {
  perMinute: 1000,
  stareMesajPerMessage: 100,
  descarcarePerMessage: 10,
  listaSimplePerCif: 1500,
  listaPaginatedPerCif: 100_000,
  raspUploadsPerCif: 1000,
};

const LIMIT_OF: Record<DailyKind, keyof ApiLimits> = {
  stareMesaj: 'stareMesajPerMessage',
  descarcare: 'descarcarePerMessage',
  listaSimple: 'listaSimplePerCif',
  listaPaginated: 'listaPaginatedPerCif',
  raspUpload: 'raspUploadsPerCif',
};

const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Bucharest', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The Romanian calendar day of an instant, e.g. 2026-11-30. */
export function romanianDay(ms: number): string {
  return dayFormat.format(new Date(ms));
}

export class LimitCounter {
  limits: ApiLimits = { ...ANAF_LIMITS };
  private readonly window: number[] = [];
  private readonly daily = new Map<string, number>();
  peakPerMinute = 0;
  refusedPerMinute = 0;
  readonly refusedDaily: Record<DailyKind, number> = { stareMesaj: 0, descarcare: 0, listaSimple: 0, listaPaginated: 0, raspUpload: 0 };

  /** Counts one API call at `nowMs`; false when the window already held the per-minute limit. */
  minute(nowMs: number): boolean {
    while (this.window.length > 0 && this.window[0]! <= nowMs - 60_000) this.window.shift();
    const allowed = this.window.length < this.limits.perMinute;
    this.window.push(nowMs);
    this.peakPerMinute = Math.max(this.peakPerMinute, this.window.length);
    if (!allowed) this.refusedPerMinute += 1;
    return allowed;
  }

  /** Counts one call of `kind` for `key` today; the limit when it was already reached, else undefined. */
  day(kind: DailyKind, key: string, nowMs: number): number | undefined {
    const k = `${kind}|${romanianDay(nowMs)}|${key}`;
    const before = this.daily.get(k) ?? 0;
    this.daily.set(k, before + 1);
    const limit = this.limits[LIMIT_OF[kind]];
    if (before < limit) return undefined;
    this.refusedDaily[kind] += 1;
    return limit;
  }

  /** Calls of `kind` for `key` on the day of `nowMs`, refused ones included. */
  count(kind: DailyKind, key: string, nowMs: number): number {
    return this.daily.get(`${kind}|${romanianDay(nowMs)}|${key}`) ?? 0;
  }

  /** The most calls of `kind` any key got on any day. */
  max(kind: DailyKind): number {
    let m = 0;
    for (const [k, v] of this.daily) if (k.startsWith(`${kind}|`)) m = Math.max(m, v);
    return m;
  }

  reset(): void {
    this.window.length = 0;
    this.daily.clear();
    this.peakPerMinute = 0;
    this.refusedPerMinute = 0;
    for (const k of Object.keys(this.refusedDaily) as DailyKind[]) this.refusedDaily[k] = 0;
  }
}
