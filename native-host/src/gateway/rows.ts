/** Gateway rows (either engine: the same column names) as records: jobs and downloads. */
import { JOB_STATES, type ClaimedJob, type DownloadRecord, type JobFlags, type JobKind, type JobPatch, type JobRecord, type JobState } from './types.js';

export type Row = Record<string, unknown>;

/** Text columns come as strings; a number (an id, in either engine) is written out; anything else is a damaged row. */
const str = (v: unknown): string | undefined => {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return v.toString();
  throw new Error('a text column of the gateway store holds something else');
};
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

function state(v: unknown): JobState {
  const s = String(v);
  if (!(JOB_STATES as readonly string[]).includes(s)) throw new Error(`unknown job state in the gateway store: ${s.slice(0, 20)}`);
  return s as JobState;
}

function jsonOf<T>(v: unknown, fallback: T): T {
  if (typeof v !== 'string' || v === '') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}

/** Columns read for a job, without its document (a list must not read 5 MB per row). */
export const JOB_COLUMNS =
  'id, profile, kind, cif, standard, flags, hash, state, attempts, polls, next_at, lease_owner, lease_until, created_at, updated_at, sending_at, sent_at, index_incarcare, id_descarcare, uit, error_code, error_detail, anaf_errors, resend_if_absent, forced, change';

export function jobOf(r: Row): JobRecord {
  return {
    id: String(r.id),
    profile: String(r.profile),
    kind: String(r.kind) as JobKind,
    cif: String(r.cif),
    standard: String(r.standard),
    flags: jsonOf<JobFlags>(r.flags, {}),
    hash: String(r.hash),
    state: state(r.state),
    attempts: Number(r.attempts),
    polls: Number(r.polls),
    nextAt: Number(r.next_at),
    leaseOwner: str(r.lease_owner),
    leaseUntil: num(r.lease_until),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    sendingAt: num(r.sending_at),
    sentAt: num(r.sent_at),
    indexIncarcare: str(r.index_incarcare),
    idDescarcare: str(r.id_descarcare),
    uit: str(r.uit),
    errorCode: str(r.error_code),
    errorDetail: str(r.error_detail),
    anafErrors: jsonOf<string[]>(r.anaf_errors, []),
    resendIfAbsent: r.resend_if_absent === true || r.resend_if_absent === 1,
    forced: r.forced === true || r.forced === 1,
    change: Number(r.change),
  };
}

export function claimedOf(r: Row): ClaimedJob {
  const d = r.doc as Uint8Array;
  return { ...jobOf(r), doc: Buffer.from(d.buffer, d.byteOffset, d.byteLength) };
}

/** The patch as column → value, booleans as `bool` makes them (SQLite has no boolean). */
export function patchColumns(p: JobPatch, bool: (b: boolean) => unknown): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (p.state !== undefined) out.push(['state', p.state]);
  if (p.nextAt !== undefined) out.push(['next_at', p.nextAt]);
  if (p.attempts !== undefined) out.push(['attempts', p.attempts]);
  if (p.polls !== undefined) out.push(['polls', p.polls]);
  if (p.sendingAt !== undefined) out.push(['sending_at', p.sendingAt]);
  if (p.sentAt !== undefined) out.push(['sent_at', p.sentAt]);
  if (p.indexIncarcare !== undefined) out.push(['index_incarcare', p.indexIncarcare]);
  if (p.idDescarcare !== undefined) out.push(['id_descarcare', p.idDescarcare]);
  if (p.uit !== undefined) out.push(['uit', p.uit]);
  if (p.errorCode !== undefined) out.push(['error_code', p.errorCode]);
  if (p.errorDetail !== undefined) out.push(['error_detail', p.errorDetail]);
  if (p.anafErrors !== undefined) out.push(['anaf_errors', JSON.stringify(p.anafErrors)]);
  if (p.resendIfAbsent !== undefined) out.push(['resend_if_absent', bool(p.resendIfAbsent)]);
  return out;
}

/** Columns read for a download record. */
export const DOWNLOAD_COLUMNS = 'cif, id, folder, kind, files, at';

export function downloadOf(r: Row): DownloadRecord {
  return {
    cif: String(r.cif),
    id: String(r.id),
    folder: String(r.folder),
    kind: r.kind === 'errors' ? 'errors' : 'invoice',
    files: jsonOf<string[]>(r.files, []),
    at: Number(r.at),
  };
}

export const dedupeKey = (j: { kind: string; cif: string; standard: string; hash: string }): string => `${j.kind}|${j.cif}|${j.standard}|${j.hash}`;

/** A job that holds no lease is due at next_at; a leased one at the end of its lease. */
export const FAR_FUTURE = 8_640_000_000_000_000;
