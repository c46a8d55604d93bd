/**
 * SQLite through node:sqlite, built into Node 22: no native addon to build, ship or load per
 * platform (better-sqlite3 needed a compiler or a prebuilt binary for each OS and Node ABI).
 */
import type * as NodeSqlite from 'node:sqlite';
import type { DatabaseSync, StatementSync, SQLInputValue } from 'node:sqlite';

export type { DatabaseSync, StatementSync, SQLInputValue };

/** Node 22 prints this once, on stderr, when node:sqlite is first loaded. */
const SQLITE_EXPERIMENTAL = /^SQLite is an experimental feature\b/;

/**
 * Whether a warning is node:sqlite's "experimental feature" notice, and nothing else: the
 * native host's and the CLI's stderr is read by users and tests, so it must not carry a
 * warning about our own choice of module; every other warning goes through as usual.
 */
export function isSqliteExperimentalWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const type =
    typeof typeOrOptions === 'string'
      ? typeOrOptions
      : typeof typeOrOptions === 'object' && typeOrOptions !== null && 'type' in typeOrOptions
        ? typeOrOptions.type
        : warning instanceof Error
          ? warning.name
          : undefined;
  const message = warning instanceof Error ? warning.message : warning;
  return type === 'ExperimentalWarning' && SQLITE_EXPERIMENTAL.test(message);
}

let loaded: typeof NodeSqlite | undefined;

/**
 * node:sqlite, loaded on first use with its one warning left out. Node emits it synchronously
 * while the module loads (process.emitWarning, printed on the next tick), so only what is emitted
 * during that load is filtered, and only that one warning.
 */
export function sqlite(): typeof NodeSqlite {
  if (loaded) return loaded;
  // Kept to be put back exactly as it was.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const emit = process.emitWarning;
  const filtered = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    if (isSqliteExperimentalWarning(warning, rest[0])) return;
    (emit as (w: string | Error, ...r: unknown[]) => void).call(process, warning, ...rest);
  };
  process.emitWarning = filtered;
  try {
    loaded = process.getBuiltinModule('node:sqlite');
  } finally {
    // Put back only our own filter: something that replaced it meanwhile keeps its own.
    if (process.emitWarning === (filtered as typeof process.emitWarning)) process.emitWarning = emit;
  }
  return loaded;
}

export function openDatabase(file: string, opts: { readOnly?: boolean } = {}): DatabaseSync {
  const { DatabaseSync } = sqlite();
  return new DatabaseSync(file, { readOnly: opts.readOnly === true });
}

/** A BLOB column as a Buffer (node:sqlite gives a plain Uint8Array; the crypto code and callers use Buffer's methods). */
export function asBuffer(value: Uint8Array): Buffer;
export function asBuffer(value: Uint8Array | null): Buffer | null;
export function asBuffer(value: Uint8Array | null): Buffer | null {
  return value === null ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** The first column of the first row (undefined when there is none), as better-sqlite3's pluck().get() gave. */
export function firstValue(st: StatementSync, ...params: SQLInputValue[]): unknown {
  const row = st.get(...params);
  if (row === undefined) return undefined;
  for (const k in row) return row[k];
  return undefined;
}

let savepoints = 0;

/**
 * Runs `fn` in a transaction that takes the write lock at once (BEGIN IMMEDIATE: a read that
 * is followed by a write never meets SQLITE_BUSY half-way, the busy timeout waits for the lock
 * instead). Inside another transaction it is a savepoint of it. A throw rolls back (to the
 * savepoint) and is thrown on; the value of `fn` is returned after COMMIT.
 */
export function immediate<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) {
    const name = `anaf_sp_${++savepoints}`;
    db.exec(`SAVEPOINT ${name}`);
    let value: T;
    try {
      value = fn();
    } catch (e) {
      // SQLite may already have rolled the whole transaction back (a full disk, an I/O error).
      if (db.isTransaction) db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw e;
    }
    db.exec(`RELEASE ${name}`);
    return value;
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    const value = fn();
    db.exec('COMMIT');
    return value;
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw e;
  }
}
