/**
 * The team store's connections to PostgreSQL (node-postgres) and what their failures mean to the
 * domain code: a server that cannot be reached is STORE_UNAVAILABLE (a retry may work; cached
 * reads still answer), anything else the server refuses is STORE_ERROR.
 */
import pg from 'pg';
import { AppError } from '#shared/errors.js';
import { registerSecret } from '../log/logger.js';
import { urlSecrets } from '../store/url-secrets.js';
import { DB_SCHEMA } from './db-schema.js';

/** PostgreSQL's type OID of bigint (pg_type). */
const INT8_OID = 20;

/** bigint columns (ms timestamps, generations, ids) as numbers: all stay far below 2^53. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format) as (v: string) => unknown)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface ConnectionOptions {
  /** postgres://user:password@host:port/db (or anything node-postgres takes as connectionString). */
  url: string;
  /** How long a new connection may take before the server counts as unreachable (ms). */
  connectTimeoutMs?: number;
}

/**
 * A dead peer (a machine switched off, a cut network) shows up on an idle connection only through
 * TCP keepalives: the client's own, and the server's (so PostgreSQL ends the session, and with it
 * the session's advisory locks, within about half a minute).
 */
const SERVER_KEEPALIVES = '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3';
/** The team store's tables live in their own schema (schema.ts), first on every connection's path. */
const SEARCH_PATH = `-c search_path=${DB_SCHEMA}`;

export function clientConfig(o: ConnectionOptions, application: string): pg.ClientConfig {
  // The database password never reaches a log, whatever error quotes it.
  for (const s of urlSecrets(o.url)) registerSecret(s);
  return {
    connectionString: o.url,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5_000,
    // A server that stops answering mid-query (a cut network) fails the query instead of hanging the caller.
    query_timeout: 15_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: application,
    options: `${SERVER_KEEPALIVES} ${SEARCH_PATH}`,
    types,
  };
}

export function createPool(o: ConnectionOptions): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(o, 'anaf-token'), max: 8, idleTimeoutMillis: 30_000 });
  // An idle connection the server dropped (restart, outage) is reported here; the pool discards
  // it and the next query opens a new one. Without a listener the process would crash.
  pool.on('error', () => {});
  return pool;
}

const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
]);
/** SQLSTATEs of a server that is going away, starting, or full. */
const UNREACHABLE_SQLSTATE = new Set(['57P01', '57P02', '57P03', '53300']);
const UNREACHABLE_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Query read timeout|Connection ended/i;

export function isUnreachable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (UNREACHABLE_ERRNO.has(code) || UNREACHABLE_SQLSTATE.has(code) || code.startsWith('08'))) return true;
  if (e instanceof AggregateError) return e.errors.some(isUnreachable);
  return UNREACHABLE_MESSAGE.test(e.message);
}

/** What a failed query means to the domain code; AppErrors (the store's own refusals) pass through. */
export function storeError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const err = e as Error & { code?: unknown };
  const code = typeof err.code === 'string' ? `${err.code}: ` : '';
  // Messages name tables and SQL states, never a parameter's value (sealed values are bytea parameters).
  const detail = `${code}${err.message ?? String(e)}`.slice(0, 300);
  return new AppError(isUnreachable(e) ? 'STORE_UNAVAILABLE' : 'STORE_ERROR', detail, { cause: e });
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRY_SQLSTATE = new Set(['40001', '40P01']);

/**
 * Runs `fn` in one transaction on one pooled connection; a serialization failure or deadlock runs
 * it again (a few times). Errors come out as storeError() says.
 */
export async function transaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let c: pg.PoolClient;
    try {
      c = await pool.connect();
    } catch (e) {
      throw storeError(e);
    }
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      if (isUnreachable(e)) broken = e as Error;
      else {
        try {
          await c.query('ROLLBACK');
        } catch (r) {
          broken = r as Error;
        }
      }
      const state = (e as { code?: unknown }).code;
      if (!(e instanceof AppError) && typeof state === 'string' && RETRY_SQLSTATE.has(state) && attempt < 4) continue;
      throw storeError(e);
    } finally {
      c.release(broken);
    }
  }
}

/** One statement on any pooled connection. */
export async function run<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(sql, params);
  } catch (e) {
    throw storeError(e);
  }
}
