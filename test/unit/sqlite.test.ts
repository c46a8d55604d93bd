/**
 * The vault's SQLite layer on node:sqlite (native-host/src/vault/sqlite.ts): its one warning kept
 * off stderr and no other, and transactions that commit, roll back and nest as the vault expects.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { immediate, isSqliteExperimentalWarning, openDatabase, asBuffer, firstValue } from '../../native-host/src/vault/sqlite.js';
import { tempDir } from '../helpers/temp.js';

const SQLITE_MODULE = path.resolve('native-host/src/vault/sqlite.ts');
const SQLITE_WARNING = 'SQLite is an experimental feature';

/** A fresh Node (node:sqlite not loaded yet) running `code` as an ES module, through tsx for our TypeScript. */
function freshNode(code: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('node:sqlite warning', () => {
  it('is printed by Node 22 when node:sqlite loads (what the filter is for)', () => {
    const r = freshNode("process.getBuiltinModule('node:sqlite'); await new Promise((r) => setTimeout(r, 10));");
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(SQLITE_WARNING);
  });

  it('is left out when the vault loads it, while every other warning still reaches stderr', () => {
    const r = freshNode(
      [
        `const { sqlite, openDatabase } = await import(${JSON.stringify(SQLITE_MODULE)});`,
        "process.emitWarning('before load', 'ExperimentalWarning');",
        'sqlite();',
        "openDatabase(':memory:').close();",
        "process.emitWarning('after load', 'ExperimentalWarning');",
        "process.emitWarning('a deprecation', 'DeprecationWarning');",
        'await new Promise((r) => setTimeout(r, 10));',
      ].join('\n'),
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(SQLITE_WARNING);
    expect(r.stderr).toContain('ExperimentalWarning: before load');
    expect(r.stderr).toContain('ExperimentalWarning: after load');
    expect(r.stderr).toContain('DeprecationWarning: a deprecation');
    // The filter is gone once loaded: process.emitWarning is Node's own again.
    const again = freshNode(
      `const original = process.emitWarning; const { sqlite } = await import(${JSON.stringify(SQLITE_MODULE)}); sqlite(); process.stdout.write(String(process.emitWarning === original));`,
    );
    expect(again.stdout).toBe('true');
  });

  it('is recognised only as the SQLite experimental notice', () => {
    const msg = `${SQLITE_WARNING} and might change at any time`;
    expect(isSqliteExperimentalWarning(msg, 'ExperimentalWarning')).toBe(true);
    expect(isSqliteExperimentalWarning(msg, { type: 'ExperimentalWarning' })).toBe(true);
    expect(isSqliteExperimentalWarning(Object.assign(new Error(msg), { name: 'ExperimentalWarning' }), undefined)).toBe(true);
    expect(isSqliteExperimentalWarning(msg, 'DeprecationWarning')).toBe(false);
    expect(isSqliteExperimentalWarning('WASI is an experimental feature and might change at any time', 'ExperimentalWarning')).toBe(false);
    expect(isSqliteExperimentalWarning(`Note: ${msg}`, 'ExperimentalWarning')).toBe(false);
  });
});

describe('immediate() transactions', () => {
  const table = () => {
    const db = openDatabase(path.join(tempDir('sqlite'), 'x.sqlite'));
    db.exec('CREATE TABLE t (v INTEGER)');
    return db;
  };
  const count = (db: ReturnType<typeof openDatabase>) => firstValue(db.prepare('SELECT count(*) FROM t'));

  it('commits and returns the value; a throw rolls everything back and is thrown on', () => {
    const db = table();
    expect(immediate(db, () => (db.prepare('INSERT INTO t VALUES (1)').run(), 'done'))).toBe('done');
    expect(db.isTransaction).toBe(false);
    expect(() =>
      immediate(db, () => {
        db.prepare('INSERT INTO t VALUES (2)').run();
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(db.isTransaction).toBe(false);
    expect(count(db)).toBe(1);
    db.close();
  });

  it('nests as a savepoint: an inner throw caught by the outer undoes only the inner part', () => {
    const db = table();
    immediate(db, () => {
      db.prepare('INSERT INTO t VALUES (1)').run();
      expect(() =>
        immediate(db, () => {
          db.prepare('INSERT INTO t VALUES (2)').run();
          throw new Error('inner');
        }),
      ).toThrow('inner');
      immediate(db, () => db.prepare('INSERT INTO t VALUES (3)').run());
      expect(db.isTransaction).toBe(true);
    });
    expect(
      db
        .prepare('SELECT v FROM t ORDER BY v')
        .all()
        .map((r) => r.v),
    ).toEqual([1, 3]);
    db.close();
  });

  it('takes the write lock at BEGIN: a second connection waits for it, then sees the commit', () => {
    const file = path.join(tempDir('sqlite-lock'), 'x.sqlite');
    const a = openDatabase(file);
    a.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER)');
    const b = openDatabase(file);
    b.exec('PRAGMA busy_timeout = 0');
    immediate(a, () => {
      a.prepare('INSERT INTO t VALUES (1)').run();
      // BEGIN IMMEDIATE in another connection meets the lock now (no waiting: timeout 0).
      expect(() => immediate(b, () => undefined)).toThrow(/locked|busy/i);
      // Reads go on (WAL) and do not see the uncommitted row.
      expect(firstValue(b.prepare('SELECT count(*) FROM t'))).toBe(0);
    });
    expect(firstValue(b.prepare('SELECT count(*) FROM t'))).toBe(1);
    a.close();
    b.close();
  });
});

describe('BLOBs', () => {
  it('come back as Uint8Array views that asBuffer() turns into Buffers without a copy', () => {
    const db = openDatabase(':memory:');
    const bytes = Buffer.from([0, 1, 2, 250]);
    const v = firstValue(db.prepare('SELECT ?'), bytes) as Uint8Array;
    expect(v).toBeInstanceOf(Uint8Array);
    const b = asBuffer(v);
    expect(Buffer.isBuffer(b)).toBe(true);
    expect(b.equals(bytes)).toBe(true);
    expect(b.buffer).toBe(v.buffer);
    expect(asBuffer(null)).toBeNull();
    db.close();
  });
});
