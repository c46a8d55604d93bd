/**
 * The gateway's store beside the local vault: its own SQLite file in the data folder
 * (gateway.sqlite), made 0600, WAL with synchronous=FULL like the vault, so a commit is on disk
 * before the ERP hears "accepted". Several processes (serve, the CLI) share it; a job is taken
 * under a lease in a BEGIN IMMEDIATE transaction, so only one of them works on it at a time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '#shared/errors.js';
import { ensurePrivateDir, type Paths } from '../config/paths.js';
import { firstValue, immediate, openDatabase, type DatabaseSync, type SQLInputValue, type StatementSync } from '../vault/sqlite.js';
import { claimedOf, dedupeKey, DOWNLOAD_COLUMNS, downloadOf, FAR_FUTURE, JOB_COLUMNS, jobOf, patchColumns, type Row } from './rows.js';
import { dailyLimit, MINUTE_BUCKETS, nextRomanianDay, romanianDay, secondOf, type ClaimOptions, type GatewayStore, type JobQuery } from './store.js';
import type { ClaimedJob, DownloadRecord, JobPatch, JobRecord, LimitRules, LimitVerdict, LimitWant, NewJob } from './types.js';

export const GATEWAY_FILE = 'gateway.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  profile TEXT NOT NULL,
  kind TEXT NOT NULL,
  cif TEXT NOT NULL,
  standard TEXT NOT NULL,
  flags TEXT NOT NULL,
  hash TEXT NOT NULL,
  dedupe TEXT UNIQUE,
  doc BLOB NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  polls INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  sending_at INTEGER,
  sent_at INTEGER,
  index_incarcare TEXT,
  id_descarcare TEXT,
  uit TEXT,
  error_code TEXT,
  error_detail TEXT,
  anaf_errors TEXT,
  resend_if_absent INTEGER NOT NULL DEFAULT 0,
  forced INTEGER NOT NULL DEFAULT 0,
  change INTEGER NOT NULL DEFAULT 1,
  seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (next_at) WHERE state IN ('queued', 'sending', 'checking', 'sent');
CREATE INDEX IF NOT EXISTS jobs_index ON jobs (index_incarcare) WHERE index_incarcare IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_seq ON jobs (seq);
CREATE TABLE IF NOT EXISTS limit_minute (second INTEGER PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS limit_daily (kind TEXT NOT NULL, key TEXT NOT NULL, day TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, key, day));
CREATE TABLE IF NOT EXISTS downloads (cif TEXT NOT NULL, id TEXT NOT NULL, folder TEXT NOT NULL, kind TEXT NOT NULL, files TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (cif, id));
CREATE TABLE IF NOT EXISTS settings (profile TEXT PRIMARY KEY, api_base TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen_messages (id TEXT PRIMARY KEY, hash TEXT NOT NULL, at INTEGER NOT NULL);
`;

const bool = (b: boolean): number => (b ? 1 : 0);

export class SqliteGatewayStore implements GatewayStore {
  readonly engine = 'sqlite' as const;
  /** Prepared once per SQL text: compiling a statement costs more than running these. */
  private readonly statements = new Map<string, StatementSync>();
  private constructor(private readonly db: DatabaseSync) {}

  private st(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  static open(paths: Paths): SqliteGatewayStore {
    const file = path.join(paths.dataDir, GATEWAY_FILE);
    let db: DatabaseSync;
    try {
      ensurePrivateDir(paths.dataDir);
      fs.closeSync(fs.openSync(file, 'a', 0o600));
      if (process.platform !== 'win32') fs.chmodSync(file, 0o600);
      db = openDatabase(file);
      db.exec('PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
      db.exec(SCHEMA);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('VAULT_ERROR', `${GATEWAY_FILE}: ${(e as Error).message}`, { cause: e });
    }
    return new SqliteGatewayStore(db);
  }

  private tx<T>(fn: () => T): T {
    try {
      return immediate(this.db, fn);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('VAULT_ERROR', `${GATEWAY_FILE}: ${(e as Error).message}`, { cause: e });
    }
  }

  async submit(jobs: NewJob[]): Promise<{ job: JobRecord; duplicate: boolean }[]> {
    return this.tx(() => {
      const out: { job: JobRecord; duplicate: boolean }[] = [];
      let seq = Number(firstValue(this.st('SELECT COALESCE(MAX(seq), 0) FROM jobs')) ?? 0);
      for (const j of jobs) {
        const key = dedupeKey(j);
        const before = this.st(`SELECT ${JOB_COLUMNS} FROM jobs WHERE dedupe = ?`).get(key) as Row | undefined;
        if (before && !j.force) {
          out.push({ job: jobOf(before), duplicate: true });
          continue;
        }
        this.st(
          `INSERT INTO jobs (id, profile, kind, cif, standard, flags, hash, dedupe, doc, state, next_at, created_at, updated_at, forced, seq)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`,
        ).run(
          j.id,
          j.profile,
          j.kind,
          j.cif,
          j.standard,
          JSON.stringify(j.flags),
          j.hash,
          before ? null : key,
          j.doc,
          j.now,
          j.now,
          j.now,
          bool(j.force),
          ++seq,
        );
        out.push({ job: jobOf(this.st(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).get(j.id) as Row), duplicate: false });
      }
      return out;
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const r = this.st(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).get(id) as Row | undefined;
    return r && jobOf(r);
  }

  async byIndex(index: string): Promise<JobRecord | undefined> {
    const r = this.st(`SELECT ${JOB_COLUMNS} FROM jobs WHERE index_incarcare = ? ORDER BY seq LIMIT 1`).get(index) as Row | undefined;
    return r && jobOf(r);
  }

  async list(q: JobQuery): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (q.profile !== undefined) {
      where.push('profile = ?');
      params.push(q.profile);
    }
    if (q.profiles !== undefined) {
      where.push(q.profiles.length ? `profile IN (${q.profiles.map(() => '?').join(', ')})` : '0');
      params.push(...q.profiles);
    }
    if (q.states?.length) {
      where.push(`state IN (${q.states.map(() => '?').join(', ')})`);
      params.push(...q.states);
    }
    if (q.before !== undefined) {
      where.push('seq < (SELECT seq FROM jobs WHERE id = ?)');
      params.push(q.before);
    }
    const sql = `SELECT ${JOB_COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.st(sql).all(...params, q.limit) as Row[]).map(jobOf);
  }

  async claim(o: ClaimOptions): Promise<ClaimedJob[]> {
    return this.tx(() => {
      const only = o.ids?.length ? `AND id IN (${o.ids.map(() => '?').join(', ')})` : '';
      const rows = this.st(
        `SELECT id, state FROM jobs WHERE state IN ('queued', 'sending', 'checking', 'sent') AND next_at <= ? ${only} ORDER BY next_at, seq LIMIT ?`,
      ).all(o.now, ...(o.ids ?? []), o.limit) as { id: string; state: string }[];
      const until = o.now + o.leaseMs;
      const out: ClaimedJob[] = [];
      for (const r of rows) {
        const state = r.state === 'queued' ? 'sending' : r.state === 'sending' ? 'checking' : r.state;
        const sendingAt = r.state === 'queued' ? o.now : null;
        this.st(
          `UPDATE jobs SET state = ?, lease_owner = ?, lease_until = ?, next_at = ?, sending_at = COALESCE(?, sending_at), updated_at = ?, change = change + 1 WHERE id = ?`,
        ).run(state, o.owner, until, until, sendingAt, o.now, r.id);
        out.push(claimedOf(this.st(`SELECT ${JOB_COLUMNS}, doc FROM jobs WHERE id = ?`).get(r.id) as Row));
      }
      return out;
    });
  }

  async release(updates: { id: string; owner: string; patch: JobPatch }[], now: number): Promise<(JobRecord | undefined)[]> {
    if (updates.length === 0) return [];
    return this.tx(() =>
      updates.map(({ id, owner, patch }) => {
        const cols = patchColumns(patch, bool);
        if (patch.nextAt === undefined) cols.push(['next_at', FAR_FUTURE]);
        const set = cols.map(([c]) => `${c} = ?`).join(', ');
        const r = this.st(
          `UPDATE jobs SET ${set}, lease_owner = NULL, lease_until = NULL, updated_at = ?, change = change + 1 WHERE id = ? AND lease_owner = ? RETURNING ${JOB_COLUMNS}`,
        ).get(...(cols.map(([, v]) => v) as SQLInputValue[]), now, id, owner) as Row | undefined;
        return r && jobOf(r);
      }),
    );
  }

  async nextDue(): Promise<number | undefined> {
    const v = firstValue(this.st(`SELECT MIN(next_at) FROM jobs WHERE state IN ('queued', 'sending', 'checking', 'sent')`));
    return v === null || v === undefined ? undefined : Number(v);
  }

  async take(calls: { daily?: LimitWant }[], now: number, rules: LimitRules): Promise<LimitVerdict[]> {
    const sec = secondOf(now);
    const day = romanianDay(now);
    return this.tx(() => {
      this.st('DELETE FROM limit_minute WHERE second <= ?').run(sec - MINUTE_BUCKETS);
      let inWindow = Number(firstValue(this.st('SELECT COALESCE(SUM(n), 0) FROM limit_minute WHERE second > ?'), sec - MINUTE_BUCKETS));
      let added = 0;
      const out: LimitVerdict[] = calls.map((c) => {
        if (inWindow >= rules.perMinute) {
          const oldest = Number(firstValue(this.st('SELECT MIN(second) FROM limit_minute WHERE second > ?'), sec - MINUTE_BUCKETS) ?? sec);
          return { ok: false, kind: 'minute', key: '*', limit: rules.perMinute, retryAtMs: (oldest + MINUTE_BUCKETS) * 1000 };
        }
        if (c.daily) {
          const limit = dailyLimit(rules, c.daily.kind);
          const n = Number(firstValue(this.st('SELECT n FROM limit_daily WHERE kind = ? AND key = ? AND day = ?'), c.daily.kind, c.daily.key, day) ?? 0);
          if (n >= limit) return { ok: false, kind: c.daily.kind, key: c.daily.key, limit, retryAtMs: nextRomanianDay(now) };
          this.st('INSERT INTO limit_daily (kind, key, day, n) VALUES (?, ?, ?, 1) ON CONFLICT (kind, key, day) DO UPDATE SET n = n + 1').run(
            c.daily.kind,
            c.daily.key,
            day,
          );
        }
        inWindow += 1;
        added += 1;
        return { ok: true };
      });
      if (added > 0) this.st('INSERT INTO limit_minute (second, n) VALUES (?, ?) ON CONFLICT (second) DO UPDATE SET n = n + excluded.n').run(sec, added);
      return out;
    });
  }

  async counted(want: LimitWant, now: number): Promise<number> {
    return Number(firstValue(this.st('SELECT n FROM limit_daily WHERE kind = ? AND key = ? AND day = ?'), want.kind, want.key, romanianDay(now)) ?? 0);
  }

  async download(cif: string, id: string): Promise<DownloadRecord | undefined> {
    const r = this.st(`SELECT ${DOWNLOAD_COLUMNS} FROM downloads WHERE cif = ? AND id = ?`).get(cif, id) as Row | undefined;
    return r && downloadOf(r);
  }

  async saveDownload(d: DownloadRecord): Promise<void> {
    this.tx(() =>
      this.st(
        'INSERT INTO downloads (cif, id, folder, kind, files, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cif, id) DO UPDATE SET folder = excluded.folder, kind = excluded.kind, files = excluded.files, at = excluded.at',
      ).run(d.cif, d.id, d.folder, d.kind, JSON.stringify(d.files), d.at),
    );
  }

  async seenHash(id: string): Promise<string | undefined> {
    const v = firstValue(this.st('SELECT hash FROM seen_messages WHERE id = ?'), id);
    return typeof v === 'string' ? v : undefined;
  }

  async saveSeenHash(id: string, hash: string, now: number): Promise<void> {
    this.tx(() => this.st('INSERT INTO seen_messages (id, hash, at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING').run(id, hash, now));
  }

  async apiBase(profile: string): Promise<string | undefined> {
    const v = firstValue(this.st('SELECT api_base FROM settings WHERE profile = ?'), profile);
    return typeof v === 'string' ? v : undefined;
  }

  async setApiBase(profile: string, base: string | undefined): Promise<void> {
    this.tx(() => {
      if (base === undefined) this.st('DELETE FROM settings WHERE profile = ?').run(profile);
      else
        this.st('INSERT INTO settings (profile, api_base) VALUES (?, ?) ON CONFLICT (profile) DO UPDATE SET api_base = excluded.api_base').run(profile, base);
    });
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}
