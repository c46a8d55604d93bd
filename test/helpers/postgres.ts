/**
 * A real PostgreSQL for the tests: Debian's package (`postgresql`, scripts/setup-debian.sh), one
 * throwaway cluster in a temporary directory, never a mock. PostgreSQL refuses to run as root, so
 * as root the cluster is made and run by the `postgres` user the package creates (runuser);
 * otherwise by the current user.
 *
 * It listens on 127.0.0.1 on a free port and on a unix socket in its directory, with
 * scram-sha-256 password authentication for a generated superuser password. It is tuned for
 * speed, not durability (fsync off: nothing survives an OS crash, but every commit survives the
 * server's own crash, which stop() makes). A test cluster lives for one test file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface Pg {
  readonly port: number;
  readonly dir: string;
  readonly user: string;
  readonly password: string;
  /** postgres://user:password@127.0.0.1:port/db, as the superuser unless another login is given. */
  url(db?: string, login?: Login): string;
  /** The same over the unix socket in the cluster's directory. */
  socketUrl(db?: string, login?: Login): string;
  createDatabase(name: string): Promise<void>;
  /** Runs SQL as the superuser in `db` (a test editing rows behind the store's back). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(db: string, sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Stops the server (immediate: connections are cut as by a crash); the data is kept. */
  stop(): Promise<void>;
  /** Starts it again, on the same port. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

const SUPERUSER = 'anaf_test';

export interface Login {
  user: string;
  password: string;
}

/** The newest installed server's bin directory (/usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((d) => /^\d+$/.test(d) && fs.existsSync(path.join(root, d, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) {
    throw new Error(`PostgreSQL is not installed (no ${root}/<version>/bin/pg_ctl): install Debian's "postgresql" package (scripts/setup-debian.sh does)`);
  }
  return path.join(root, majors[0]!, 'bin');
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a server program as the cluster's owner; its output is returned, or thrown with the command. */
function runAsOwner(bin: string, args: string[]): string {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: os.tmpdir(), timeout: 60_000 });
  if (r.status !== 0) {
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<Pg> {
  const bin = postgresBinDir();
  if (isRoot()) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      throw new Error('running as root, but there is no "postgres" user to run PostgreSQL as: install Debian\'s "postgresql" package');
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-pg-'));
  const data = path.join(dir, 'data');
  const password = crypto.randomBytes(18).toString('base64url');
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (isRoot()) {
    // The cluster's owner must reach and own its directory (mkdtemp makes it 0700, root's).
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
    fs.chownSync(pwfile, uid, gid);
  }
  const port = await freePort();
  runAsOwner(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    SUPERUSER,
    '--pwfile',
    pwfile,
    '--auth',
    'scram-sha-256',
    '-E',
    'UTF8',
    '--locale',
    'C',
    '--no-sync',
    '--no-instructions',
  ]);
  fs.rmSync(pwfile);
  // Fast and small: a throwaway cluster for one test file.
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'full_page_writes = off',
      'shared_buffers = 16MB',
      'max_connections = 100',
      'max_wal_size = 64MB',
      'log_min_messages = warning',
      '',
    ].join('\n'),
  );
  const log = path.join(dir, 'server.log');
  const superuser: Login = { user: SUPERUSER, password };
  const auth = (l: Login) => `${encodeURIComponent(l.user)}:${encodeURIComponent(l.password)}`;
  const url = (db = 'postgres', login = superuser) => `postgres://${auth(login)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  const socketUrl = (db = 'postgres', login = superuser) => `postgres://${auth(login)}@/${encodeURIComponent(db)}?host=${encodeURIComponent(dir)}&port=${port}`;

  const query = async <R extends pg.QueryResultRow>(db: string, sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> => {
    const c = new pg.Client({ connectionString: url(db) });
    await c.connect();
    try {
      return await c.query<R>(sql, params);
    } finally {
      await c.end();
    }
  };

  /** Until a real login works: pg_ctl -w only waits for the postmaster to accept connections. */
  const ready = async () => {
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        await query('postgres', 'SELECT 1');
        return;
      } catch (e) {
        if (Date.now() > until) throw new Error(`PostgreSQL on port ${port} did not become ready: ${(e as Error).message}\n${tail(log)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };

  let running = false;
  const stopNow = () => {
    if (!running) return;
    runAsOwner(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '60', '-s']);
    running = false;
  };
  // A test process that ends without destroy() (a crash, a timeout) leaves no server running.
  const onExit = () => {
    try {
      stopNow();
    } catch {
      /* exiting anyway */
    }
  };
  process.on('exit', onExit);
  const start = async () => {
    runAsOwner(path.join(bin, 'pg_ctl'), ['start', '-D', data, '-l', log, '-w', '-t', '60', '-s']);
    running = true;
    await ready();
  };
  const stop = async () => stopNow();

  try {
    await start();
  } catch (e) {
    process.off('exit', onExit);
    onExit();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    dir,
    user: SUPERUSER,
    password,
    url,
    socketUrl,
    query,
    async createDatabase(name: string) {
      await query('postgres', `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    },
    stop,
    start,
    async destroy() {
      process.off('exit', onExit);
      try {
        await stop();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
