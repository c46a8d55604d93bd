/**
 * The team store's tables, in their own PostgreSQL schema (`anaf_token`, so they sit beside an
 * ERP's tables without clashing), created by numbered migrations. Every process that connects
 * applies what is missing, all in one transaction under an advisory transaction lock (two
 * machines starting at once do not both migrate), and records each in schema_migrations. A
 * database migrated by a newer build is refused (STORE_NEWER) rather than misread.
 *
 * Names are COLLATE "C" (byte order), as in the vault: listings page the same way whatever the
 * database's default collation. Times are ms since the epoch (bigint). Sealed columns (bytea) are AES-256-GCM values made on
 * the client with the team key (vault/crypto.ts); their associated data names the row's identity
 * (team-seal.ts), so a value edited, moved or re-pointed in the database does not open.
 */
import type pg from 'pg';
import { AppError } from '#shared/errors.js';
import { advisoryKey } from './advisory-key.js';
import { DB_SCHEMA } from './db-schema.js';
import { storeError } from './pg-pool.js';

interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE team_meta (k text PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE profiles (
  name text COLLATE "C" PRIMARY KEY,
  client_id text NOT NULL,
  redirect_uri text NOT NULL,
  env text NOT NULL,
  refresh_window_days integer NOT NULL,
  secret bytea NOT NULL,
  client_auth text CHECK (client_auth IN ('basic', 'post')),
  created_at bigint NOT NULL
);
CREATE TABLE tokens (
  profile text COLLATE "C" PRIMARY KEY REFERENCES profiles(name) ON DELETE CASCADE,
  access bytea NOT NULL,
  refresh bytea,
  access_expires_at bigint NOT NULL,
  refresh_expires_at bigint,
  -- access_expires_at minus the profile's refresh window, kept with the row so the due scan is
  -- one index range (saveTokens sets it, saveProfile keeps it in step with the window).
  refresh_due_at bigint NOT NULL,
  authorized_at bigint NOT NULL,
  last_refresh_at bigint,
  cert_subject text,
  cert_serial text,
  cert_issuer text,
  cert_roles text,
  cert_sha256 text,
  cert_source text,
  cert_label text,
  state_echoed boolean NOT NULL DEFAULT true,
  dead_reason text,
  last_error text,
  last_failure_at bigint,
  generation bigint NOT NULL
);
CREATE INDEX tokens_due ON tokens (refresh_due_at) WHERE dead_reason IS NULL AND refresh IS NOT NULL;
CREATE TABLE pending_authorizations (
  state_hash text PRIMARY KEY,
  profile text COLLATE "C" NOT NULL REFERENCES profiles(name) ON DELETE CASCADE,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX pending_by_profile ON pending_authorizations (profile, created_at);
-- ERP clients of the token service; profiles: the ones it may get tokens of (NULL: all). The
-- sealed key is bound to the name and to personal_id and profiles (team-seal.ts).
CREATE TABLE api_clients (
  name text COLLATE "C" PRIMARY KEY,
  key_sealed bytea NOT NULL,
  created_at bigint NOT NULL,
  last_used_at bigint,
  personal_id boolean NOT NULL DEFAULT false,
  profiles text[]
);
CREATE TABLE audit (
  id bigserial PRIMARY KEY,
  at bigint NOT NULL,
  profile text NOT NULL,
  client text NOT NULL,
  generation bigint NOT NULL,
  host text NOT NULL,
  os_user text NOT NULL,
  action text NOT NULL CHECK (action IN ('token', 'refused'))
);
CREATE INDEX audit_by_time ON audit (at DESC, id DESC);
CREATE INDEX audit_by_profile ON audit (profile, at DESC, id DESC);
CREATE INDEX audit_by_client ON audit (client, at DESC, id DESC);
-- team/invite-store.ts: the team key wrapped for one joining machine; taken (deleted) by the join.
CREATE TABLE team_invites (
  id text PRIMARY KEY,
  wrapped bytea NOT NULL,
  expires_at bigint NOT NULL,
  created_by text NOT NULL
);
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Applies the missing migrations; returns the version the database is at. */
export async function migrate(pool: pg.Pool, now: number): Promise<number> {
  let c: pg.PoolClient;
  try {
    c = await pool.connect();
  } catch (e) {
    throw storeError(e);
  }
  let broken: Error | undefined;
  try {
    // Most connects find the schema current: one read, no lock, no write.
    const current = await appliedVersion(c);
    if (current === SCHEMA_VERSION) return current;
    if (current > SCHEMA_VERSION) throw newer(current);
    await c.query('BEGIN');
    try {
      await c.query('SELECT pg_advisory_xact_lock($1)', [advisoryKey('schema').key]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${DB_SCHEMA}`);
      await c.query(`SET LOCAL search_path = ${DB_SCHEMA}`);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
      const r = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
      const at = r.rows[0]?.v ?? 0; // read again under the lock: another process may have migrated meanwhile
      if (at > SCHEMA_VERSION) throw newer(at);
      for (const m of MIGRATIONS) {
        if (m.version <= at) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, now]);
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch((r: Error) => (broken = r));
      throw e;
    }
    return SCHEMA_VERSION;
  } catch (e) {
    throw storeError(e);
  } finally {
    c.release(broken);
  }
}

async function appliedVersion(c: pg.PoolClient): Promise<number> {
  const has = await c.query<{ t: string | null }>(`SELECT to_regclass('${DB_SCHEMA}.schema_migrations')::text AS t`);
  if (has.rows[0]?.t == null) return 0;
  const r = await c.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${DB_SCHEMA}.schema_migrations`);
  return r.rows[0]?.v ?? 0;
}

const newer = (v: number) => new AppError('STORE_NEWER', `the database is at schema ${v}; this build knows up to ${SCHEMA_VERSION}`);
