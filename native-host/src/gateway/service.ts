/**
 * The gateway as the CLI and serve use it: accept uploads into the durable outbox, tell a job's
 * state, list messages, download and unpack them once, validate and render through ANAF's public
 * endpoints. Every call to ANAF goes through the limits; every call with a token through the
 * 401/403 rule.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { AppError } from '#shared/errors.js';
import type { App } from '../app.js';
import {
  apiEndpoints,
  downloadMessage,
  etransportList,
  listMessagesPage,
  MAX_UPLOAD_BYTES,
  normalizeCif,
  UPLOAD_STANDARDS,
  validateXml,
  withTokenRetry,
  xmlToPdf,
  type AnafMessage,
  type ApiCall,
  type MessageFilter,
  type TransportList,
  type UploadStandard,
  type ValidationResult,
  type ValidationStandard,
  type WireOptions,
} from '../efactura/index.js';
import type { TokenDeps } from '../tokens/deps.js';
import { validAccessToken } from '../tokens/grant.js';
import { saveMessage, stillThere } from './folder.js';
import { Limits } from './limits.js';
import type { GatewayStore } from './store.js';
import { endpointsFor } from './target.js';
import { timingFromEnv, type GatewayTiming } from './timing.js';
import { profileTokens, reusedGrant, type Grant } from './tokens.js';
import type { DownloadRecord, JobFlags, JobKind, JobRecord, LimitRules, NewJob } from './types.js';
import { GatewayWorker } from './worker.js';

export interface UploadRequest {
  profile: string;
  kind: JobKind;
  cif: string;
  standard?: string;
  flags?: JobFlags;
  xml: Uint8Array;
  force?: boolean;
}

/** What the ERP sees of a job (never the document). */
export interface JobView {
  job: string;
  profile: string;
  kind: JobKind;
  cif: string;
  standard: string;
  state: JobRecord['state'];
  duplicate?: boolean;
  indexIncarcare?: string;
  idDescarcare?: string;
  uit?: string;
  errors?: string[];
  error?: { code: string; detail?: string };
  attempts: number;
  createdAt: string;
  updatedAt: string;
  sentAt?: string;
}

export function jobView(j: JobRecord, duplicate?: boolean): JobView {
  return {
    job: j.id,
    profile: j.profile,
    kind: j.kind,
    cif: j.cif,
    standard: j.standard,
    state: j.state,
    ...(duplicate ? { duplicate } : {}),
    ...(j.indexIncarcare ? { indexIncarcare: j.indexIncarcare } : {}),
    ...(j.idDescarcare ? { idDescarcare: j.idDescarcare } : {}),
    ...(j.uit ? { uit: j.uit } : {}),
    ...(j.anafErrors.length ? { errors: j.anafErrors } : {}),
    ...(j.errorCode ? { error: { code: j.errorCode, ...(j.errorDetail ? { detail: j.errorDetail } : {}) } } : {}),
    attempts: j.attempts,
    createdAt: new Date(j.createdAt).toISOString(),
    updatedAt: new Date(j.updatedAt).toISOString(),
    ...(j.sentAt ? { sentAt: new Date(j.sentAt).toISOString() } : {}),
  };
}

export interface GatewayOptions {
  app: App;
  store: GatewayStore;
  /** How tokens are handed out (serve: its TokenSource); validAccessToken otherwise. */
  grant?: Grant;
  timing?: GatewayTiming;
  rules?: LimitRules;
  wire?: WireOptions;
  /** Where downloads are unpacked; <data folder>/efactura by default. */
  downloadsDir?: string;
  onChange?: (job: JobRecord) => void;
}

/** A job id: 'j' and 20 base32 characters of randomness (URL- and file-name-safe). */
export const JOB_ID_RE = /^j[a-z2-7]{20}$/;
const newJobId = (): string => {
  const b = crypto.randomBytes(13);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = 'j';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 21) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
};

export class Gateway {
  readonly store: GatewayStore;
  readonly limits: Limits;
  readonly worker: GatewayWorker;
  readonly timing: GatewayTiming;
  readonly downloadsDir: string;
  private readonly deps: TokenDeps;
  private readonly grant: Grant;
  private readonly wire: WireOptions | undefined;
  /** Submits waiting for the next commit: concurrent uploads share one disk sync. */
  private pending: { job: NewJob; resolve: (r: { job: JobRecord; duplicate: boolean }) => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly o: GatewayOptions) {
    this.store = o.store;
    this.deps = o.app.tokenDeps;
    this.grant = o.grant ?? ((p) => validAccessToken(this.deps, p));
    this.timing = o.timing ?? timingFromEnv();
    this.limits = new Limits(o.store, o.rules, o.app.now);
    this.wire = o.wire;
    this.downloadsDir = o.downloadsDir ?? path.join(o.app.paths.dataDir, 'efactura');
    const reused = reusedGrant(this.grant, o.app.now);
    this.worker = new GatewayWorker({
      store: o.store,
      limits: this.limits,
      tokens: (p) => profileTokens(this.deps, reused, p, this.grant),
      endpoints: (p) => endpointsFor(o.app.store, o.store, p),
      wire: o.wire,
      now: o.app.now,
      log: o.app.log,
      timing: this.timing,
      downloadsDir: this.downloadsDir,
      onChange: o.onChange,
    });
  }

  /** Checks an upload and stores it durably; the worker sends it. The same document twice is one job unless forced. */
  async upload(r: UploadRequest): Promise<{ job: JobRecord; duplicate: boolean }> {
    const cif = normalizeCif(r.cif);
    const standard = r.kind === 'etransport' ? 'ETRANSP' : (r.standard ?? 'UBL');
    if (r.kind === 'efactura' && !UPLOAD_STANDARDS.includes(standard as UploadStandard))
      throw new AppError('BAD_REQUEST', 'standard is one of UBL, CN, CII, RASP');
    if (r.xml.byteLength === 0) throw new AppError('BAD_REQUEST', 'the file is empty');
    if (r.xml.byteLength > MAX_UPLOAD_BYTES) throw new AppError('ANAF_API_FILE_TOO_LARGE', `${r.xml.byteLength} bytes, at most ${MAX_UPLOAD_BYTES}`);
    await this.o.app.store.getProfile(r.profile); // PROFILE_NOT_FOUND before anything is stored
    const doc = Buffer.from(r.xml);
    const flags: JobFlags =
      r.kind === 'efactura'
        ? {
            ...(r.flags?.b2c ? { b2c: true } : {}),
            ...(r.flags?.extern ? { extern: true } : {}),
            ...(r.flags?.autofactura ? { autofactura: true } : {}),
            ...(r.flags?.executare ? { executare: true } : {}),
          }
        : {};
    const job: NewJob = {
      id: newJobId(),
      profile: r.profile,
      kind: r.kind,
      cif,
      standard,
      flags,
      hash: crypto.createHash('sha256').update(doc).digest('hex'),
      doc,
      force: r.force === true,
      now: this.o.app.now(),
    };
    const result = await new Promise<{ job: JobRecord; duplicate: boolean }>((resolve, reject) => {
      this.pending.push({ job, resolve, reject });
      this.flushing ??= this.flush();
    });
    if (!result.duplicate) this.worker.wake();
    return result;
  }

  /** Writes every waiting submit in one commit, then the ones that came meanwhile. */
  private async flush(): Promise<void> {
    // Let the requests that arrived in the same turn of the event loop join this commit.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, 256);
      try {
        const results = await this.store.submit(batch.map((b) => b.job));
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    this.flushing = undefined;
  }

  async job(id: string): Promise<JobRecord> {
    if (!JOB_ID_RE.test(id)) throw new AppError('GATEWAY_JOB_NOT_FOUND', id.slice(0, 40));
    const j = await this.store.get(id);
    if (!j) throw new AppError('GATEWAY_JOB_NOT_FOUND', id);
    return j;
  }

  /**
   * Moves a job on now if it is due (the CLI without a running serve): sends it, polls it or
   * reconciles it, within the limits. A job another process holds is left to it.
   */
  async advance(id: string): Promise<JobRecord> {
    await this.job(id);
    await this.worker.tick([id]);
    return this.job(id);
  }

  private async authorized<T>(profile: string, fn: (call: ApiCall) => Promise<T>): Promise<T> {
    const endpoints = await endpointsFor(this.o.app.store, this.store, profile);
    return withTokenRetry(profileTokens(this.deps, this.grant, profile), (accessToken) => fn({ endpoints, accessToken, wire: this.wire }));
  }

  /** The CIF's messages of the last `days` days, every page of the paginated list (each page counted). */
  async messages(q: { profile: string; cif: string; days: number; filter?: MessageFilter }): Promise<AnafMessage[]> {
    const cif = normalizeCif(q.cif);
    if (!Number.isInteger(q.days) || q.days < 1 || q.days > 60) throw new AppError('BAD_REQUEST', 'days is a whole number from 1 to 60');
    const now = this.o.app.now();
    const endTime = now - 5_000;
    const startTime = Math.max(now - q.days * 86_400_000, now - 60 * 86_400_000 + 60_000);
    const out: AnafMessage[] = [];
    for (let page = 1; page <= 200; page++) {
      await this.limits.one({ kind: 'listaPaginated', key: cif });
      const p = await this.authorized(q.profile, (call) =>
        listMessagesPage(call, { cif, startTime, endTime, page, ...(q.filter ? { filter: q.filter } : {}) }),
      );
      out.push(...p.messages);
      if (page >= p.totalPages) break;
    }
    return out;
  }

  /**
   * A message (by id_descarcare, or by our job id) unpacked into <dir>/<cif>/<id>/, downloaded
   * from ANAF once: a folder already there (and whole) is answered without a call.
   */
  async download(q: { profile?: string; id: string; cif?: string; out?: string }): Promise<DownloadRecord & { downloaded: boolean }> {
    let profile = q.profile;
    let cif = q.cif === undefined ? undefined : normalizeCif(q.cif);
    let id = q.id;
    if (JOB_ID_RE.test(q.id)) {
      const j = await this.job(q.id);
      if (!j.idDescarcare) throw new AppError('BAD_REQUEST', `job ${j.id} is ${j.state}: it has nothing to download yet`);
      id = j.idDescarcare;
      cif = j.cif;
      profile ??= j.profile;
    }
    if (!/^\d{1,20}$/.test(id)) throw new AppError('BAD_REQUEST', "the id is a job id or ANAF's id_descarcare (digits)");
    if (cif === undefined) throw new AppError('BAD_REQUEST', '--cif is needed with an id_descarcare (the folder is per CIF)');
    if (profile === undefined) throw new AppError('BAD_REQUEST', 'a profile is needed');
    const root = q.out ?? this.downloadsDir;
    // Only a job's own download is answered from the record: a bare id and CIF is asked of ANAF
    // with this profile's token, which checks its right to that CIF (the record holds no profile).
    const known = JOB_ID_RE.test(q.id) ? await this.store.download(cif, id) : undefined;
    if (known && path.dirname(path.dirname(known.folder)) === path.resolve(root) && stillThere(known)) return { ...known, downloaded: false };
    await this.limits.one({ kind: 'descarcare', key: id });
    const m = await this.authorized(profile, (call) => downloadMessage(call, id));
    const rec = saveMessage(path.resolve(root), cif, id, m, this.o.app.now());
    await this.store.saveDownload(rec);
    return { ...rec, downloaded: true };
  }

  /** ANAF's public endpoints: the profile's API (a stand-in) when given, else ANAF's. */
  private async publicCall(profile: string | undefined) {
    const endpoints = profile === undefined ? apiEndpoints('prod') : await endpointsFor(this.o.app.store, this.store, profile);
    return { endpoints, wire: this.wire };
  }

  async validate(xml: Uint8Array, standard: ValidationStandard, profile?: string): Promise<ValidationResult> {
    await this.limits.one();
    return validateXml(await this.publicCall(profile), xml, standard);
  }

  async pdf(xml: Uint8Array, standard: ValidationStandard, profile?: string): Promise<Buffer> {
    await this.limits.one();
    return xmlToPdf(await this.publicCall(profile), xml, standard);
  }

  async transportList(q: { profile: string; cif: string; days: number }): Promise<TransportList> {
    await this.limits.one();
    return this.authorized(q.profile, (call) => etransportList(call, { cif: normalizeCif(q.cif), days: q.days }));
  }

  async close(): Promise<void> {
    await this.worker.stop();
    await this.flushing;
  }
}
