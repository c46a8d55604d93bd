/**
 * The gateway's worker: takes due jobs from the store under a lease (a batch at a time), counts
 * their calls against ANAF's limits in one commit, makes the calls at once, and writes every
 * outcome back in one commit. Sending, polling and reconciling are all "a due job": the state
 * says which. A call a limit refuses is not made: the job waits until the limit allows it.
 */
import crypto from 'node:crypto';
import { AppError, type ErrorCode } from '#shared/errors.js';
import {
  downloadMessage,
  etransportState,
  etransportUpload,
  messageState,
  uploadInvoice,
  uploadOutcomeUnknown,
  withTokenRetry,
  type ApiCall,
  type ApiEndpoints,
  type TokenSource,
  type UploadStandard,
  type WireOptions,
} from '../efactura/index.js';
import type { Logger } from '../log/logger.js';
import { saveMessage } from './folder.js';
import type { Limits } from './limits.js';
import { reconcile } from './reconcile.js';
import type { GatewayStore } from './store.js';
import { backoff, type GatewayTiming } from './timing.js';
import type { ClaimedJob, JobPatch, JobRecord, LimitVerdict, LimitWant } from './types.js';

export interface WorkerDeps {
  store: GatewayStore;
  limits: Limits;
  /** A token source for a profile, new per batch (it caches the token for the batch). */
  tokens(profile: string): TokenSource;
  endpoints(profile: string): Promise<ApiEndpoints>;
  wire?: WireOptions;
  now: () => number;
  log: Logger;
  timing: GatewayTiming;
  /** Where rejected uploads' errors are unpacked (<dir>/<cif>/<id>/). */
  downloadsDir: string;
  /** Told of every change this worker wrote (the webhook). */
  onChange?: (job: JobRecord) => void;
}

/** Failures after which nothing was accepted and a later try may work: the job goes back to the queue. */
const RETRY_LATER: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ANAF_API_NOT_REACHED',
  'ANAF_API_FIREWALL',
  'ANAF_API_RATE_LIMITED',
  'ANAF_API_DAILY_LIMIT',
  'ANAF_API_NOT_AUTHORIZED',
  'GATEWAY_LIMIT_DEFERRED',
  'GATEWAY_DAILY_LIMIT',
  'GATEWAY_API_NOT_SET',
  'NO_TOKEN',
  'TOKEN_DEAD',
  'TOKEN_EXPIRED',
  'REFRESH_BUSY',
  'ANAF_UNAVAILABLE',
  'ANAF_BAD_RESPONSE',
  'INVALID_GRANT',
  'INVALID_CLIENT',
  'PROFILE_NOT_FOUND',
  'PROFILE_ALTERED',
  'STORE_UNAVAILABLE',
  'STORE_ERROR',
  'VAULT_ERROR',
  'INTERNAL',
]);

const errorPatch = (e: AppError): Pick<JobPatch, 'errorCode' | 'errorDetail'> => ({ errorCode: e.code, errorDetail: (e.detail ?? '').slice(0, 1000) });

export class GatewayWorker {
  readonly owner = `${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();
  private readonly seen = new Map<string, string>();

  constructor(private readonly d: WorkerDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.pump();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    while (this.inflight > 0 || this.releasing) {
      await (this.releasing ?? new Promise<void>((r) => setTimeout(r, 5)));
    }
  }

  /** New work (a submit in this process, a finished job): look again now. */
  wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /** Jobs being worked on by this worker now. */
  private inflight = 0;
  /** Finished jobs waiting for the next commit: many share one disk sync. */
  private releaseQueue: { job: ClaimedJob; patch: JobPatch }[] = [];
  private releasing: Promise<void> | undefined;

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  /**
   * Keeps up to batch × lanes jobs in flight, each moving on its own (no batch waits for its
   * slowest call): due jobs are claimed as slots free up, and finished ones are written back
   * together in one commit.
   */
  private async pump(): Promise<void> {
    const max = Math.max(1, this.d.timing.batch * this.d.timing.lanes);
    while (this.running) {
      const free = max - this.inflight;
      let n = 0;
      if (free > 0) {
        try {
          n = await this.dispatch(Math.min(free, this.d.timing.batch));
        } catch (e) {
          this.d.log.log('warn', 'gateway.tick-failed', { code: AppError.from(e).code });
        }
      }
      if (!this.running) break;
      if (n > 0) continue;
      if (free <= 0) {
        await this.sleep(this.d.timing.idleMs);
        continue;
      }
      let wait = this.d.timing.idleMs;
      try {
        const due = await this.d.store.nextDue();
        if (due !== undefined) wait = Math.min(wait, Math.max(0, due - this.d.now()));
      } catch {
        /* the store will answer again later */
      }
      if (wait > 0) await this.sleep(wait);
    }
  }

  /** Claims up to `limit` due jobs and starts them; how many. */
  private async dispatch(limit: number): Promise<number> {
    const jobs = await this.d.store.claim({ owner: this.owner, now: this.d.now(), leaseMs: this.d.timing.leaseMs, limit });
    if (jobs.length === 0) return 0;
    const simple = jobs.filter((j) => j.state !== 'checking');
    const verdicts = await this.d.limits.take(simple.map((j) => ({ daily: dailyOf(j) })));
    const verdictOf = new Map<string, LimitVerdict>(simple.map((j, i) => [j.id, verdicts[i]!]));
    this.endpointCache.clear();
    const tokens = new Map<string, TokenSource>();
    const tokenOf = (p: string): TokenSource => {
      let t = tokens.get(p);
      if (!t) tokens.set(p, (t = this.d.tokens(p)));
      return t;
    };
    for (const j of jobs) {
      this.inflight += 1;
      void this.workSafely(j, verdictOf.get(j.id), tokenOf).then((patch) => this.finish(j, patch));
    }
    return jobs.length;
  }

  private async workSafely(j: ClaimedJob, verdict: LimitVerdict | undefined, tokenOf: (p: string) => TokenSource): Promise<JobPatch> {
    try {
      return await this.work(j, verdict, tokenOf);
    } catch (e) {
      const err = AppError.from(e);
      this.d.log.log('warn', 'gateway.job-failed', { job: j.id, state: j.state, code: err.code });
      return this.retryPatch(j, err);
    }
  }

  private finish(job: ClaimedJob, patch: JobPatch): void {
    this.releaseQueue.push({ job, patch });
    this.releasing ??= this.flushReleases();
  }

  private async flushReleases(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.releaseQueue.length > 0) {
      const batch = this.releaseQueue.splice(0);
      try {
        await this.written(batch);
      } catch (e) {
        // Not written: the leases run out and the jobs are taken again (a sending one is checked first).
        this.d.log.log('warn', 'gateway.release-failed', { code: AppError.from(e).code, jobs: batch.length });
      }
      this.inflight -= batch.length;
    }
    this.releasing = undefined;
    this.wake();
  }

  /** Writes the outcomes in one commit, then tells the webhook and the log. */
  private async written(batch: { job: ClaimedJob; patch: JobPatch }[]): Promise<void> {
    const applied = await this.d.store.release(
      batch.map(({ job, patch }) => ({ id: job.id, owner: this.owner, patch })),
      this.d.now(),
    );
    if (this.d.onChange) for (const after of applied) if (after) this.d.onChange(after);
    for (const { job: j, patch: p } of batch) {
      if (p.state && p.state !== j.state)
        this.d.log.log('info', 'gateway.job', { job: j.id, from: j.state, to: p.state, ...(p.errorCode ? { code: p.errorCode } : {}) });
    }
  }

  /** One batch, worked to the end before it returns (the CLI moving its own job on): how many were taken. */
  async tick(ids?: string[]): Promise<number> {
    const jobs = await this.d.store.claim({ owner: this.owner, now: this.d.now(), leaseMs: this.d.timing.leaseMs, limit: this.d.timing.batch, ids });
    if (jobs.length === 0) return 0;
    const simple = jobs.filter((j) => j.state !== 'checking');
    const verdicts = await this.d.limits.take(simple.map((j) => ({ daily: dailyOf(j) })));
    const verdictOf = new Map<string, LimitVerdict>(simple.map((j, i) => [j.id, verdicts[i]!]));
    const tokens = new Map<string, TokenSource>();
    const tokenOf = (p: string): TokenSource => {
      let t = tokens.get(p);
      if (!t) tokens.set(p, (t = this.d.tokens(p)));
      return t;
    };
    const patches = await Promise.all(jobs.map((j) => this.workSafely(j, verdictOf.get(j.id), tokenOf)));
    await this.written(jobs.map((job, i) => ({ job, patch: patches[i]! })));
    return jobs.length;
  }

  /** A profile's endpoints, looked up once per batch. */
  private readonly endpointCache = new Map<string, Promise<ApiEndpoints>>();

  private async authorized<T>(tokens: TokenSource, profile: string, fn: (call: ApiCall) => Promise<T>): Promise<T> {
    let ep = this.endpointCache.get(profile);
    if (!ep) {
      ep = this.d.endpoints(profile);
      this.endpointCache.set(profile, ep);
      ep.catch(() => this.endpointCache.delete(profile));
    }
    const endpoints = await ep;
    return withTokenRetry(tokens, (accessToken) => fn({ endpoints, accessToken, wire: this.d.wire }));
  }

  private async work(j: ClaimedJob, verdict: LimitVerdict | undefined, tokenOf: (p: string) => TokenSource): Promise<JobPatch> {
    const now = this.d.now();
    if (verdict && !verdict.ok) {
      // Not made: wait for the limit (the state a claim gave stays meaningful: sending → queued again).
      return {
        state: j.state === 'sending' ? 'queued' : j.state,
        nextAt: verdict.retryAtMs,
        errorCode: verdict.kind === 'minute' ? 'GATEWAY_LIMIT_DEFERRED' : 'GATEWAY_DAILY_LIMIT',
        errorDetail: `${verdict.kind} ${verdict.limit}`,
      };
    }
    const tokens = tokenOf(j.profile);
    switch (j.state) {
      case 'sending':
        return this.send(j, tokens);
      case 'sent':
        return this.poll(j, tokens);
      case 'checking':
        return reconcile(
          {
            store: this.d.store,
            limits: this.d.limits,
            now: this.d.now,
            timing: this.d.timing,
            seen: this.seen,
            authorized: (profile, fn) => this.authorized(tokens, profile, fn),
          },
          j,
        );
      default:
        return { state: j.state, nextAt: now };
    }
  }

  private async send(j: ClaimedJob, tokens: TokenSource): Promise<JobPatch> {
    const attempts = j.attempts + 1;
    try {
      const r: { indexIncarcare: string; uit?: string | undefined } =
        j.kind === 'efactura'
          ? await this.authorized(tokens, j.profile, (call) =>
              uploadInvoice(call, { xml: j.doc, cif: j.cif, standard: j.standard as UploadStandard, ...j.flags }),
            )
          : await this.authorized(tokens, j.profile, (call) => etransportUpload(call, { xml: j.doc, cif: j.cif }));
      const now = this.d.now();
      return {
        state: 'sent',
        attempts,
        indexIncarcare: r.indexIncarcare,
        ...(r.uit !== undefined ? { uit: r.uit } : {}),
        sentAt: now,
        polls: 0,
        nextAt: now + this.d.timing.pollBaseMs,
        errorCode: null,
        errorDetail: null,
      };
    } catch (e) {
      const err = AppError.from(e);
      const now = this.d.now();
      if (uploadOutcomeUnknown(err)) {
        // ANAF may have it: look in its list before anything is sent again (reconcile.ts).
        return {
          state: 'checking',
          attempts,
          nextAt: now + Math.min(this.d.timing.checkEveryMs, this.d.timing.retryBaseMs),
          resendIfAbsent: err.code === 'ANAF_API_UNAVAILABLE',
          ...errorPatch(err),
        };
      }
      if (RETRY_LATER.has(err.code)) {
        return { state: 'queued', attempts, nextAt: now + backoff(this.d.timing.retryBaseMs, this.d.timing.retryMaxMs, attempts - 1), ...errorPatch(err) };
      }
      // ANAF refused the document itself (or it cannot be sent at all): final, with ANAF's words.
      return { state: 'refused', attempts, ...errorPatch(err), anafErrors: err.detail ? [err.detail] : [] };
    }
  }

  private async poll(j: ClaimedJob, tokens: TokenSource): Promise<JobPatch> {
    const polls = j.polls + 1;
    const index = j.indexIncarcare!;
    const later = (now: number): number => now + backoff(this.d.timing.pollBaseMs, this.d.timing.pollMaxMs, polls);
    try {
      if (j.kind === 'etransport') {
        const s = await this.authorized(tokens, j.profile, (call) => etransportState(call, index));
        const now = this.d.now();
        if (s.state === 'processing') return { state: 'sent', polls, nextAt: later(now), errorCode: null, errorDetail: null };
        return { state: s.state, polls, anafErrors: s.errors, errorCode: null, errorDetail: null };
      }
      const s = await this.authorized(tokens, j.profile, (call) => messageState(call, index));
      const now = this.d.now();
      if (s.state === 'processing') return { state: 'sent', polls, nextAt: later(now), errorCode: null, errorDetail: null };
      const done: JobPatch = { state: s.state, polls, errorCode: null, errorDetail: null, ...(s.idDescarcare ? { idDescarcare: s.idDescarcare } : {}) };
      if (s.state === 'nok' && s.idDescarcare) done.anafErrors = await this.rejection(j, s.idDescarcare, tokens);
      return done;
    } catch (e) {
      const err = AppError.from(e);
      return { state: 'sent', polls, nextAt: later(this.d.now()), ...errorPatch(err) };
    }
  }

  /** A rejected invoice's errors, downloaded once (ANAF's ZIP) and kept in its folder; [] when that is not possible now. */
  private async rejection(j: ClaimedJob, id: string, tokens: TokenSource): Promise<string[]> {
    try {
      const known = await this.d.store.download(j.cif, id);
      if (known) return [];
      await this.d.limits.one({ kind: 'descarcare', key: id });
      const m = await this.authorized(tokens, j.profile, (call) => downloadMessage(call, id));
      await this.d.store.saveDownload(saveMessage(this.d.downloadsDir, j.cif, id, m, this.d.now()));
      return m.errors;
    } catch (e) {
      this.d.log.log('warn', 'gateway.errors-not-downloaded', { job: j.id, code: AppError.from(e).code });
      return [];
    }
  }

  private retryPatch(j: ClaimedJob, err: AppError): JobPatch {
    const now = this.d.now();
    const state = j.state === 'sending' ? 'checking' : j.state;
    return { state, nextAt: now + backoff(this.d.timing.retryBaseMs, this.d.timing.retryMaxMs, j.attempts), ...errorPatch(err) };
  }
}

/** The daily limit a job's next call counts under. */
function dailyOf(j: ClaimedJob): LimitWant | undefined {
  if (j.state === 'sending') return j.kind === 'efactura' && j.standard === 'RASP' ? { kind: 'raspUpload', key: j.cif } : undefined;
  if (j.state === 'sent') return { kind: 'stareMesaj', key: j.kind === 'etransport' ? `et:${j.indexIncarcare}` : j.indexIncarcare! };
  return undefined;
}
