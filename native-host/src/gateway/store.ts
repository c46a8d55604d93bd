/**
 * Where the gateway keeps its jobs, ANAF's limit counters and what it downloaded: beside the
 * token store, in its own file (SQLite, sqlite-store.ts) or its own tables in the team store's
 * database (PostgreSQL, pg-store.ts). Every write is durable when the promise resolves.
 */
import type { ClaimedJob, DownloadRecord, JobPatch, JobRecord, JobState, LimitRules, LimitVerdict, LimitWant, NewJob } from './types.js';

export interface ClaimOptions {
  /** Who takes the jobs: one serve or CLI process. */
  owner: string;
  now: number;
  leaseMs: number;
  limit: number;
  /** Only these jobs (the CLI advancing its own), else any due one. */
  ids?: string[];
}

export interface JobQuery {
  profile?: string;
  /** Only jobs of these profiles (a scoped client's), applied before the limit. */
  profiles?: readonly string[];
  states?: JobState[];
  limit: number;
  /** Jobs created before this one (paging, newest first). */
  before?: string;
}

export interface GatewayStore {
  readonly engine: 'sqlite' | 'postgres';
  /**
   * Stores new jobs in one durable commit. A job whose document (hash + CIF + standard + kind)
   * was accepted before, and is not forced, is not stored: the earlier job is returned instead.
   */
  submit(jobs: NewJob[]): Promise<{ job: JobRecord; duplicate: boolean }[]>;
  get(id: string): Promise<JobRecord | undefined>;
  /** The job that got this index_incarcare from ANAF. */
  byIndex(indexIncarcare: string): Promise<JobRecord | undefined>;
  list(q: JobQuery): Promise<JobRecord[]>;
  /**
   * Takes due jobs under a lease, atomically, so that each is worked on by one process at a
   * time: `queued` ones become `sending` (sendingAt = now); a `sending` one whose lease ran out
   * (its process died) becomes `checking`; `sent` and `checking` ones keep their state.
   */
  claim(o: ClaimOptions): Promise<ClaimedJob[]>;
  /** Writes what the owner did, and lets the lease go: the job as written, or undefined when the lease was lost meanwhile. */
  release(updates: { id: string; owner: string; patch: JobPatch }[], now: number): Promise<(JobRecord | undefined)[]>;
  /** The earliest time a job becomes due (for the worker's sleep), undefined when none is active. */
  nextDue(): Promise<number | undefined>;
  /**
   * Counts calls against ANAF's limits, in order, in one commit: each call is one of the 1000 a
   * minute and, when it has a `daily` kind, one of that kind's for its key today. A call that
   * would pass a limit is not counted; its verdict says which limit and until when.
   */
  take(calls: { daily?: LimitWant }[], now: number, rules: LimitRules): Promise<LimitVerdict[]>;
  /** Today's count (Romanian day) of a daily-limited kind. */
  counted(want: LimitWant, now: number): Promise<number>;
  download(cif: string, id: string): Promise<DownloadRecord | undefined>;
  saveDownload(d: DownloadRecord): Promise<void>;
  /** SHA-256 of a message's document, remembered once reconciliation downloaded it (descarcare is 10 a day). */
  seenHash(id: string): Promise<string | undefined>;
  saveSeenHash(id: string, hash: string, now: number): Promise<void>;
  apiBase(profile: string): Promise<string | undefined>;
  setApiBase(profile: string, base: string | undefined): Promise<void>;
  close(): Promise<void>;
}

/**
 * The Romanian calendar day of an instant (ANAF counts daily limits by it), e.g. 2026-11-30. The
 * format is made at first use: it pages in several MB of ICU's time zone and locale data.
 */
let dayFormat: Intl.DateTimeFormat | undefined;
export function romanianDay(ms: number): string {
  dayFormat ??= new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Bucharest', year: 'numeric', month: '2-digit', day: '2-digit' });
  return dayFormat.format(new Date(ms));
}

/** The next Romanian midnight after `ms` (when a daily limit starts again), found by stepping hours. */
export function nextRomanianDay(ms: number): number {
  const today = romanianDay(ms);
  let t = Math.floor(ms / 3_600_000) * 3_600_000 + 3_600_000;
  while (romanianDay(t) === today) t += 3_600_000;
  return t;
}

/** Per-minute counts are kept per second; the window sums 61 of them (stricter than ANAF's 60 s). */
export const MINUTE_BUCKETS = 61;
export const secondOf = (ms: number): number => Math.floor(ms / 1000);

export function dailyLimit(rules: LimitRules, kind: LimitWant['kind']): number {
  return rules[kind];
}
