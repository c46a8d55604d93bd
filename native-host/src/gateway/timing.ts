/** How the gateway paces itself: leases, polling, retries, reconciliation. */
export interface GatewayTiming {
  /** A claimed job's lease: longer than one exchange with ANAF can take (the wire's deadline is 60 s). */
  leaseMs: number;
  /** First stareMesaj after an upload; it doubles up to pollMaxMs. */
  pollBaseMs: number;
  pollMaxMs: number;
  /** First retry after ANAF was down or not reached; it doubles up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often a job of unknown outcome looks in ANAF's list again. */
  checkEveryMs: number;
  /** How long it keeps looking before it is decided (sent again when ANAF said 5xx, else unresolved). */
  graceMs: number;
  /** Jobs taken at once (and sent at once), per lane. */
  batch: number;
  /** Batches worked on at the same time. */
  lanes: number;
  /** Longest sleep of an idle worker (other processes may have queued jobs meanwhile). */
  idleMs: number;
}

export const DEFAULT_TIMING: GatewayTiming = {
  leaseMs: 90_000,
  pollBaseMs: 10_000,
  pollMaxMs: 30 * 60_000,
  retryBaseMs: 5_000,
  retryMaxMs: 10 * 60_000,
  checkEveryMs: 60_000,
  graceMs: 30 * 60_000,
  batch: 16,
  lanes: 2,
  idleMs: 5_000,
};

const KNOBS: Record<keyof GatewayTiming, string> = {
  leaseMs: 'LEASE_MS',
  pollBaseMs: 'POLL_MS',
  pollMaxMs: 'POLL_MAX_MS',
  retryBaseMs: 'RETRY_MS',
  retryMaxMs: 'RETRY_MAX_MS',
  checkEveryMs: 'CHECK_MS',
  graceMs: 'GRACE_MS',
  batch: 'BATCH',
  lanes: 'LANES',
  idleMs: 'IDLE_MS',
};

/** The defaults, each replaceable by ANAF_TOKEN_GATEWAY_<KNOB> (whole positive numbers; tests and tuning). */
export function timingFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayTiming {
  const t = { ...DEFAULT_TIMING };
  for (const [k, name] of Object.entries(KNOBS) as [keyof GatewayTiming, string][]) {
    const v = env[`ANAF_TOKEN_GATEWAY_${name}`];
    if (v !== undefined && /^\d{1,9}$/.test(v) && Number(v) > 0) t[k] = Number(v);
  }
  return t;
}

/** base·2^n, capped, with ±20 % jitter so that many jobs do not come due together. */
export function backoff(base: number, max: number, n: number, random: () => number = Math.random): number {
  const d = Math.min(max, base * 2 ** Math.min(30, Math.max(0, n)));
  return Math.round(d * (0.8 + 0.4 * random()));
}
