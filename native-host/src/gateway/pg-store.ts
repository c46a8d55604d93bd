/**
 * The gateway's store beside the team store: its own tables in the same database and schema
 * (`anaf_token`, prefixed `gateway_`), created by its own numbered migrations recorded in
 * `gateway_schema_migrations`, applied in one transaction under an advisory lock so two serve
 * instances starting at once do not both migrate. Jobs are taken with FOR UPDATE SKIP LOCKED
 * under a lease: when several serve instances share the database, each job is worked on by one.
 * Limit counters are taken under a transaction-scoped advisory lock: ANAF counts per user and
 * app, so every instance counts against the same numbers.
 */
import type pg from 'pg';
import { AppError } from '#shared/errors.js';
import { advisoryKey } from '../team/advisory-key.js';
import { DB_SCHEMA } from '../team/db-schema.js';
import { createPool, run, storeError, transaction } from '../team/pg-pool.js';
import { claimedOf, dedupeKey, DOWNLOAD_COLUMNS, downloadOf, FAR_FUTURE, JOB_COLUMNS, jobOf, patchColumns, type Row } from './rows.js';
import { dailyLimit, MINUTE_BUCKETS, nextRomanianDay, romanianDay, secondOf, type ClaimOptions, type GatewayStore, type JobQuery } from './store.js';
import type { ClaimedJob, DownloadRecord, JobPatch, JobRecord, LimitRules, LimitVerdict, LimitWant, NewJob } from './types.js';

const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE gateway_jobs (
  id text PRIMARY KEY,
  profile text NOT NULL,
  kind text NOT NULL,
  cif text NOT NULL,
  standard text NOT NULL,
  flags text NOT NULL,
  hash text NOT NULL,
  dedupe text UNIQUE,
  doc bytea NOT NULL,
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  polls integer NOT NULL DEFAULT 0,
  next_at bigint NOT NULL,
  lease_owner text,
  lease_until bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  sending_at bigint,
  sent_at bigint,
  index_incarcare text,
  id_descarcare text,
  uit text,
  error_code text,
  error_detail text,
  anaf_errors text,
  resend_if_absent boolean NOT NULL DEFAULT false,
  forced boolean NOT NULL DEFAULT false,
  change bigint NOT NULL DEFAULT 1,
  seq bigserial NOT NULL
);
CREATE INDEX gateway_jobs_due ON gateway_jobs (next_at) WHERE state IN ('queued', 'sending', 'checking', 'sent');
CREATE INDEX gateway_jobs_index ON gateway_jobs (index_incarcare) WHERE index_incarcare IS NOT NULL;
CREATE INDEX gateway_jobs_seq ON gateway_jobs (seq);
CREATE TABLE gateway_limit_minute (second bigint PRIMARY KEY, n integer NOT NULL);
CREATE TABLE gateway_limit_daily (kind text NOT NULL, key text NOT NULL, day text NOT NULL, n integer NOT NULL, PRIMARY KEY (kind, key, day));
CREATE TABLE gateway_downloads (cif text NOT NULL, id text NOT NULL, folder text NOT NULL, kind text NOT NULL, files text NOT NULL, at bigint NOT NULL, PRIMARY KEY (cif, id));
CREATE TABLE gateway_settings (profile text PRIMARY KEY, api_base text NOT NULL);
CREATE TABLE gateway_seen_messages (id text PRIMARY KEY, hash text NOT NULL, at bigint NOT NULL);
`,
  },
];
const VERSION = MIGRATIONS.at(-1)!.version;
const MIGRATIONS_TABLE = 'gateway_schema_migrations';
const JOBS = 'gateway_jobs';

async function migrate(pool: pg.Pool, now: number): Promise<void> {
  await transaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [advisoryKey('gateway-schema').key]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${DB_SCHEMA}`);
    await c.query(`SET LOCAL search_path = ${DB_SCHEMA}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version integer PRIMARY KEY, applied_at bigint NOT NULL)`);
    const r = await c.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${MIGRATIONS_TABLE}`);
    const at = r.rows[0]?.v ?? 0;
    if (at > VERSION) throw new AppError('STORE_NEWER', `the gateway's tables are at schema ${at}; this build knows up to ${VERSION}`);
    for (const m of MIGRATIONS) {
      if (m.version <= at) continue;
      await c.query(m.sql);
      await c.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, applied_at) VALUES ($1, $2)`, [m.version, now]);
    }
  });
}

/** `?, ?, …` as `$n` placeholders from `start`. */
const params = (n: number, start = 1): string => Array.from({ length: n }, (_, i) => `$${start + i}`).join(', ');

export class PgGatewayStore implements GatewayStore {
  readonly engine = 'postgres' as const;
  private constructor(private readonly pool: pg.Pool) {}

  static async connect(url: string, now: number): Promise<PgGatewayStore> {
    const pool = createPool({ url });
    try {
      await migrate(pool, now);
    } catch (e) {
      await pool.end().catch(() => {});
      throw storeError(e);
    }
    return new PgGatewayStore(pool);
  }

  async submit(jobs: NewJob[]): Promise<{ job: JobRecord; duplicate: boolean }[]> {
    return transaction(this.pool, async (c) => {
      const out: { job: JobRecord; duplicate: boolean }[] = [];
      for (const j of jobs) {
        const key = dedupeKey(j);
        // Two instances accepting the same document at once: the lock on its key makes the second see the first.
        await c.query('SELECT pg_advisory_xact_lock($1)', [advisoryKey(`gateway-doc ${key}`).key]);
        const before = await c.query<Row>(`SELECT ${JOB_COLUMNS} FROM ${JOBS} WHERE dedupe = $1`, [key]);
        if (before.rows[0] && !j.force) {
          out.push({ job: jobOf(before.rows[0]), duplicate: true });
          continue;
        }
        const r = await c.query<Row>(
          `INSERT INTO ${JOBS} (id, profile, kind, cif, standard, flags, hash, dedupe, doc, state, next_at, created_at, updated_at, forced)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $10, $10, $11) RETURNING ${JOB_COLUMNS}`,
          [j.id, j.profile, j.kind, j.cif, j.standard, JSON.stringify(j.flags), j.hash, before.rows[0] ? null : key, j.doc, j.now, j.force],
        );
        out.push({ job: jobOf(r.rows[0]!), duplicate: false });
      }
      return out;
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const r = await run<Row>(this.pool, `SELECT ${JOB_COLUMNS} FROM ${JOBS} WHERE id = $1`, [id]);
    return r.rows[0] && jobOf(r.rows[0]);
  }

  async byIndex(index: string): Promise<JobRecord | undefined> {
    const r = await run<Row>(this.pool, `SELECT ${JOB_COLUMNS} FROM ${JOBS} WHERE index_incarcare = $1 ORDER BY seq LIMIT 1`, [index]);
    return r.rows[0] && jobOf(r.rows[0]);
  }

  async list(q: JobQuery): Promise<JobRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.profile !== undefined) {
      args.push(q.profile);
      where.push(`profile = $${args.length}`);
    }
    if (q.profiles !== undefined) {
      args.push([...q.profiles]);
      where.push(`profile = ANY($${args.length}::text[])`);
    }
    if (q.states?.length) {
      where.push(`state IN (${params(q.states.length, args.length + 1)})`);
      args.push(...q.states);
    }
    if (q.before !== undefined) {
      args.push(q.before);
      where.push(`seq < (SELECT seq FROM ${JOBS} WHERE id = $${args.length})`);
    }
    args.push(q.limit);
    const r = await run<Row>(
      this.pool,
      `SELECT ${JOB_COLUMNS} FROM ${JOBS} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${args.length}`,
      args,
    );
    return r.rows.map(jobOf);
  }

  async claim(o: ClaimOptions): Promise<ClaimedJob[]> {
    const until = o.now + o.leaseMs;
    const only = o.ids?.length ? `AND id IN (${params(o.ids.length, 5)})` : '';
    // The rows another instance is taking right now are skipped, not waited for.
    const r = await run<Row>(
      this.pool,
      `UPDATE ${JOBS} j SET
         state = CASE j.state WHEN 'queued' THEN 'sending' WHEN 'sending' THEN 'checking' ELSE j.state END,
         sending_at = CASE WHEN j.state = 'queued' THEN $1 ELSE j.sending_at END,
         lease_owner = $2, lease_until = $3, next_at = $3, updated_at = $1, change = j.change + 1
       WHERE j.id IN (
         SELECT id FROM ${JOBS}
         WHERE state IN ('queued', 'sending', 'checking', 'sent') AND next_at <= $1 ${only}
         ORDER BY next_at, seq LIMIT $4
         FOR UPDATE SKIP LOCKED)
       RETURNING ${JOB_COLUMNS}, doc`,
      [o.now, o.owner, until, o.limit, ...(o.ids ?? [])],
    );
    return r.rows.map(claimedOf);
  }

  async release(updates: { id: string; owner: string; patch: JobPatch }[], now: number): Promise<(JobRecord | undefined)[]> {
    if (updates.length === 0) return [];
    return transaction(this.pool, async (c) => {
      const out: (JobRecord | undefined)[] = [];
      for (const { id, owner, patch } of updates) {
        const cols = patchColumns(patch, (b) => b);
        if (patch.nextAt === undefined) cols.push(['next_at', FAR_FUTURE]);
        const set = cols.map(([col], i) => `${col} = $${i + 1}`).join(', ');
        const n = cols.length;
        const r = await c.query<Row>(
          `UPDATE ${JOBS} SET ${set}, lease_owner = NULL, lease_until = NULL, updated_at = $${n + 1}, change = change + 1 WHERE id = $${n + 2} AND lease_owner = $${n + 3} RETURNING ${JOB_COLUMNS}`,
          [...cols.map(([, v]) => v), now, id, owner],
        );
        out.push(r.rows[0] && jobOf(r.rows[0]));
      }
      return out;
    });
  }

  async nextDue(): Promise<number | undefined> {
    const r = await run<{ v: number | null }>(this.pool, `SELECT MIN(next_at) AS v FROM ${JOBS} WHERE state IN ('queued', 'sending', 'checking', 'sent')`);
    const v = r.rows[0]?.v;
    return v === null || v === undefined ? undefined : Number(v);
  }

  async take(calls: { daily?: LimitWant }[], now: number, rules: LimitRules): Promise<LimitVerdict[]> {
    const sec = secondOf(now);
    const day = romanianDay(now);
    return transaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [advisoryKey('gateway-limits').key]);
      await c.query('DELETE FROM gateway_limit_minute WHERE second <= $1', [sec - MINUTE_BUCKETS]);
      const w = await c.query<{ s: number | null; oldest: number | null }>(
        'SELECT COALESCE(SUM(n), 0)::bigint AS s, MIN(second) AS oldest FROM gateway_limit_minute WHERE second > $1',
        [sec - MINUTE_BUCKETS],
      );
      let inWindow = Number(w.rows[0]?.s ?? 0);
      const oldest = Number(w.rows[0]?.oldest ?? sec);
      let added = 0;
      const out: LimitVerdict[] = [];
      for (const call of calls) {
        if (inWindow >= rules.perMinute) {
          out.push({ ok: false, kind: 'minute', key: '*', limit: rules.perMinute, retryAtMs: (oldest + MINUTE_BUCKETS) * 1000 });
          continue;
        }
        if (call.daily) {
          const limit = dailyLimit(rules, call.daily.kind);
          const d = await c.query<{ n: number }>('SELECT n FROM gateway_limit_daily WHERE kind = $1 AND key = $2 AND day = $3', [
            call.daily.kind,
            call.daily.key,
            day,
          ]);
          if ((d.rows[0]?.n ?? 0) >= limit) {
            out.push({ ok: false, kind: call.daily.kind, key: call.daily.key, limit, retryAtMs: nextRomanianDay(now) });
            continue;
          }
          await c.query(
            'INSERT INTO gateway_limit_daily (kind, key, day, n) VALUES ($1, $2, $3, 1) ON CONFLICT (kind, key, day) DO UPDATE SET n = gateway_limit_daily.n + 1',
            [call.daily.kind, call.daily.key, day],
          );
        }
        inWindow += 1;
        added += 1;
        out.push({ ok: true });
      }
      if (added > 0) {
        await c.query(
          'INSERT INTO gateway_limit_minute (second, n) VALUES ($1, $2) ON CONFLICT (second) DO UPDATE SET n = gateway_limit_minute.n + excluded.n',
          [sec, added],
        );
      }
      return out;
    });
  }

  async counted(want: LimitWant, now: number): Promise<number> {
    const r = await run<{ n: number }>(this.pool, 'SELECT n FROM gateway_limit_daily WHERE kind = $1 AND key = $2 AND day = $3', [
      want.kind,
      want.key,
      romanianDay(now),
    ]);
    return r.rows[0]?.n ?? 0;
  }

  async download(cif: string, id: string): Promise<DownloadRecord | undefined> {
    const r = await run<Row>(this.pool, `SELECT ${DOWNLOAD_COLUMNS} FROM gateway_downloads WHERE cif = $1 AND id = $2`, [cif, id]);
    const d = r.rows[0];
    return d && downloadOf(d);
  }

  async saveDownload(d: DownloadRecord): Promise<void> {
    await run(
      this.pool,
      'INSERT INTO gateway_downloads (cif, id, folder, kind, files, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cif, id) DO UPDATE SET folder = excluded.folder, kind = excluded.kind, files = excluded.files, at = excluded.at',
      [d.cif, d.id, d.folder, d.kind, JSON.stringify(d.files), d.at],
    );
  }

  async seenHash(id: string): Promise<string | undefined> {
    const r = await run<{ hash: string }>(this.pool, 'SELECT hash FROM gateway_seen_messages WHERE id = $1', [id]);
    return r.rows[0]?.hash;
  }

  async saveSeenHash(id: string, hash: string, now: number): Promise<void> {
    await run(this.pool, 'INSERT INTO gateway_seen_messages (id, hash, at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [id, hash, now]);
  }

  async apiBase(profile: string): Promise<string | undefined> {
    const r = await run<{ api_base: string }>(this.pool, 'SELECT api_base FROM gateway_settings WHERE profile = $1', [profile]);
    return r.rows[0]?.api_base;
  }

  async setApiBase(profile: string, base: string | undefined): Promise<void> {
    if (base === undefined) await run(this.pool, 'DELETE FROM gateway_settings WHERE profile = $1', [profile]);
    else
      await run(
        this.pool,
        'INSERT INTO gateway_settings (profile, api_base) VALUES ($1, $2) ON CONFLICT (profile) DO UPDATE SET api_base = excluded.api_base',
        [profile, base],
      );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
