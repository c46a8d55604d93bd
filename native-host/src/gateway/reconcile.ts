/**
 * A job whose outcome is unknown (`checking`: our process died after it took the job, or
 * ANAF's answer was lost, or ANAF answered 5xx) is looked for in ANAF's message list before
 * anything is sent again. The rule:
 *
 * 1. List the CIF's messages (paginated endpoint) from a little before the job was last taken
 *    for sending until now.
 * 2. Only messages whose upload index (id_solicitare) belongs to no job of ours are candidates.
 * 3. A candidate "FACTURA TRIMISA" is downloaded (counted against descarcare's 10 a day) and
 *    its invoice compared byte for byte (SHA-256) with the job's document: the same document
 *    means this job was accepted under that index: it becomes `ok` with that index and id.
 * 4. Not found: look again every checkEveryMs until graceMs after it was taken (ANAF lists an
 *    upload only once it has processed it). Then: a job whose only failure was ANAF's 5xx is
 *    queued to be sent again (ANAF said it failed, and its list agrees); any other becomes
 *    `unresolved`, reported to the ERP, which decides (upload again with force). A rejected
 *    upload ("ERORI FACTURA" has no copy of the invoice) or one in "XML cu erori" (never
 *    listed) cannot be recognised, so it too ends `unresolved`, never silently sent twice.
 *
 * e-Transport lists no documents: its jobs go straight to step 4.
 */
import { AppError } from '#shared/errors.js';
import { downloadMessage, listMessagesPage, type ApiCall, type AnafMessage } from '../efactura/index.js';
import { createHash } from 'node:crypto';
import type { Limits } from './limits.js';
import type { GatewayStore } from './store.js';
import type { GatewayTiming } from './timing.js';
import type { ClaimedJob, JobPatch } from './types.js';

/** How far before the job was taken a message may be dated (clocks differ; ANAF dates to the minute). */
const SKEW_MS = 10 * 60_000;
/** ANAF refuses an endTime in its future: stay a little behind our clock. */
const END_BEHIND_MS = 1_000;
const MAX_PAGES = 20;

export interface ReconcileContext {
  store: GatewayStore;
  limits: Limits;
  now: () => number;
  timing: GatewayTiming;
  /** Runs a call with a token (and the 401/403 rule). */
  authorized<T>(profile: string, fn: (call: ApiCall) => Promise<T>): Promise<T>;
  /** SHA-256 of the invoices already looked at, by download id (a cache of the store's). */
  seen: Map<string, string>;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function candidates(ctx: ReconcileContext, job: ClaimedJob): Promise<AnafMessage[]> {
  const now = ctx.now();
  const startTime = Math.max((job.sendingAt ?? job.createdAt) - SKEW_MS, now - 59 * 86_400_000);
  const endTime = now - END_BEHIND_MS;
  if (endTime <= startTime) return [];
  const out: AnafMessage[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    await ctx.limits.one({ kind: 'listaPaginated', key: job.cif });
    const p = await ctx.authorized(job.profile, (call) => listMessagesPage(call, { cif: job.cif, startTime, endTime, page, filter: 'T' }));
    out.push(...p.messages);
    if (page >= p.totalPages) break;
  }
  const mine: AnafMessage[] = [];
  for (const m of out) {
    if (!/TRIMISA$/i.test(m.type) || m.uploadIndex === undefined) continue;
    if (await ctx.store.byIndex(m.uploadIndex)) continue;
    mine.push(m);
  }
  return mine;
}

export async function reconcile(ctx: ReconcileContext, job: ClaimedJob): Promise<JobPatch> {
  const now = ctx.now();
  if (job.kind === 'efactura') {
    const want = sha256(job.doc);
    for (const m of await candidates(ctx, job)) {
      // Each candidate is downloaded once, by whichever process looks first: descarcare is 10 a day.
      let hash = ctx.seen.get(m.id) ?? (await ctx.store.seenHash(m.id));
      if (hash === undefined) {
        await ctx.limits.one({ kind: 'descarcare', key: m.id });
        const d = await ctx.authorized(job.profile, (call) => downloadMessage(call, m.id));
        hash = d.kind === 'invoice' ? sha256(d.document.data) : '';
        await ctx.store.saveSeenHash(m.id, hash, now);
      }
      ctx.seen.set(m.id, hash);
      if (hash === want) {
        return {
          state: 'ok',
          indexIncarcare: m.uploadIndex,
          idDescarcare: m.id,
          sentAt: job.sendingAt ?? now,
          errorCode: null,
          errorDetail: null,
          resendIfAbsent: false,
        };
      }
    }
  }
  const since = job.sendingAt ?? job.createdAt;
  if (now - since < ctx.timing.graceMs) return { state: 'checking', nextAt: now + ctx.timing.checkEveryMs };
  if (job.resendIfAbsent) return { state: 'queued', nextAt: now, resendIfAbsent: false };
  return {
    state: 'unresolved',
    errorCode: 'ANAF_API_ANSWER_LOST',
    errorDetail:
      job.kind === 'efactura'
        ? 'ANAF may or may not have this upload: it is not among the accepted invoices of its message list; upload it again with force once you have checked in SPV'
        : 'ANAF may or may not have this declaration (e-Transport lists no documents to compare); upload it again with force once you have checked',
  };
}

/** Whether a failure of the list or download during reconciliation is worth another look later. */
export function checkAgainLater(e: unknown): boolean {
  return e instanceof AppError;
}
