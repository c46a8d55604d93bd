/**
 * ANAF's limits kept on our side (../shared/anaf-facts.md): every call to ANAF's API is counted
 * in the gateway store before it is made, and one that would pass a limit is not made. The
 * counts are persisted (and shared by every process on the same store), so a restart or a
 * second serve does not start them again from zero.
 */
import { AppError } from '#shared/errors.js';
import type { GatewayStore } from './store.js';
import { ANAF_LIMITS, type LimitRules, type LimitVerdict, type LimitWant } from './types.js';

export class Limits {
  constructor(
    private readonly store: GatewayStore,
    readonly rules: LimitRules = ANAF_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** One verdict per call, counted in one commit. */
  take(calls: { daily?: LimitWant }[]): Promise<LimitVerdict[]> {
    return calls.length === 0 ? Promise.resolve([]) : this.store.take(calls, this.now(), this.rules);
  }

  /** One call, or the typed refusal: GATEWAY_LIMIT_DEFERRED (a minute) or GATEWAY_DAILY_LIMIT. */
  async one(daily?: LimitWant): Promise<void> {
    const [v] = await this.take([daily ? { daily } : {}]);
    if (v && !v.ok) throw refusal(v, this.now());
  }
}

export function refusal(v: Extract<LimitVerdict, { ok: false }>, now: number): AppError {
  const at = new Date(v.retryAtMs).toISOString();
  if (v.kind === 'minute') {
    return new AppError('GATEWAY_LIMIT_DEFERRED', `${v.limit} calls a minute; retry in ${Math.max(1, Math.ceil((v.retryAtMs - now) / 1000))} s (${at})`);
  }
  return new AppError('GATEWAY_DAILY_LIMIT', `${v.kind}: ${v.limit} a day for ${v.key}; next allowed at ${at}`);
}

/** Seconds until a limit refusal may be tried again, for Retry-After. */
export function retryAfterOf(e: AppError, now: number): number | undefined {
  if (e.code !== 'GATEWAY_LIMIT_DEFERRED' && e.code !== 'GATEWAY_DAILY_LIMIT') return undefined;
  const m = /next allowed at (\S+)|\((\d{4}-[^)]+)\)/.exec(e.detail ?? '');
  const iso = m?.[1] ?? m?.[2];
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? Math.max(1, Math.ceil((t - now) / 1000)) : undefined;
}
