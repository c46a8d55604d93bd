/**
 * The gateway's records: a job is one document the ERP gave us to send to e-Factura or
 * e-Transport, from the moment it was accepted (written before we answered) to ANAF's verdict.
 *
 * States:
 * - `queued`: accepted and stored; waiting to be sent (first time, or again after ANAF was down).
 * - `sending`: claimed by one process under a lease; the upload may be on the wire. Should that
 *   process die, the lease runs out and the job becomes `checking`.
 * - `checking`: whether ANAF got it is not known (a crash after it was claimed, an answer lost,
 *   a 5xx): it is looked for in ANAF's message list (reconcile.ts) before anything is sent again.
 * - `sent`: ANAF gave its `index_incarcare`; stareMesaj is polled within ANAF's limits.
 * - `ok` / `nok` / `xml-errors`: ANAF's verdict (`id_descarcare` with ok and nok). Final.
 * - `refused`: ANAF refused the upload itself (no SPV right, not valid XML, …). Final.
 * - `unresolved`: checking could not tell whether ANAF has it. Final until the ERP decides
 *   (an upload of the same document with force sends it again).
 */
export const JOB_STATES = ['queued', 'sending', 'checking', 'sent', 'ok', 'nok', 'xml-errors', 'refused', 'unresolved'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** The states a worker still has something to do in. */
export const ACTIVE_STATES: readonly JobState[] = ['queued', 'sending', 'checking', 'sent'];
export const FINAL_STATES: readonly JobState[] = ['ok', 'nok', 'xml-errors', 'refused', 'unresolved'];

export type JobKind = 'efactura' | 'etransport';

export interface JobFlags {
  b2c?: boolean;
  extern?: boolean;
  autofactura?: boolean;
  executare?: boolean;
}

export interface NewJob {
  id: string;
  profile: string;
  kind: JobKind;
  /** Digits only. */
  cif: string;
  /** UBL, CN, CII, RASP; ETRANSP for e-Transport. */
  standard: string;
  flags: JobFlags;
  /** Hex SHA-256 of the document. */
  hash: string;
  doc: Buffer;
  /** Sent even when the same document (hash + CIF + standard) was accepted before. */
  force: boolean;
  now: number;
}

export interface JobRecord {
  id: string;
  profile: string;
  kind: JobKind;
  cif: string;
  standard: string;
  flags: JobFlags;
  hash: string;
  state: JobState;
  attempts: number;
  polls: number;
  nextAt: number;
  leaseOwner: string | undefined;
  leaseUntil: number | undefined;
  createdAt: number;
  updatedAt: number;
  /** When it was last claimed for sending: where reconciliation starts looking. */
  sendingAt: number | undefined;
  sentAt: number | undefined;
  indexIncarcare: string | undefined;
  idDescarcare: string | undefined;
  uit: string | undefined;
  errorCode: string | undefined;
  errorDetail: string | undefined;
  /** ANAF's own messages (a nok's errors, a refusal's text). */
  anafErrors: string[];
  /** Checking may send it again once ANAF's list shows it absent (ANAF said 5xx: it did not take it). */
  resendIfAbsent: boolean;
  forced: boolean;
  /** Bumped on every change: the webhook's and a poller's version. */
  change: number;
}

/** A job taken by a worker, with the document it sends. */
export interface ClaimedJob extends JobRecord {
  doc: Buffer;
}

/** What a worker writes back; only these columns change. */
export interface JobPatch {
  state?: JobState;
  nextAt?: number;
  attempts?: number;
  polls?: number;
  sendingAt?: number;
  sentAt?: number;
  indexIncarcare?: string;
  idDescarcare?: string;
  uit?: string;
  errorCode?: string | null;
  errorDetail?: string | null;
  anafErrors?: string[];
  resendIfAbsent?: boolean;
}

export type LimitKind = 'minute' | 'stareMesaj' | 'descarcare' | 'listaSimple' | 'listaPaginated' | 'raspUpload';

/** One call we are about to make, by what ANAF counts it under. */
export interface LimitWant {
  kind: Exclude<LimitKind, 'minute'>;
  /** A message id or a CIF. */
  key: string;
}

export interface LimitRules {
  perMinute: number;
  stareMesaj: number;
  descarcare: number;
  listaSimple: number;
  listaPaginated: number;
  raspUpload: number;
}

/** ANAF's limits (../shared/anaf-facts.md, limiteApeluriAPI). */
export const ANAF_LIMITS: LimitRules = {
  perMinute: 1000,
  stareMesaj: 100,
  descarcare: 10,
  listaSimple: 1500,
  listaPaginated: 100_000,
  raspUpload: 1000,
};

export type LimitVerdict = { ok: true } | { ok: false; kind: LimitKind; key: string; limit: number; retryAtMs: number };

export interface DownloadRecord {
  cif: string;
  id: string;
  folder: string;
  kind: 'invoice' | 'errors';
  files: string[];
  at: number;
}

/** A job change, for the webhook. */
export interface JobChange {
  job: JobRecord;
}
