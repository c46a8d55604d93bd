/**
 * Who listens on a loopback port: this user, another user, or nobody. `serve` names the holder
 * when it cannot bind (SERVE_LISTEN_FAILED), and `doctor` and `service status` say whose program
 * answers on the configured port.
 *
 * Linux reads its socket table (/proc/net/tcp{,6}); macOS asks `lsof`; Windows reads its listener
 * table (GetExtendedTcpTable) for the process and that process's token for its user (through koffi,
 * serve/win32-ffi.ts), or, when those calls cannot be loaded, asks `netstat -ano` and `tasklist /v`.
 * Where none of these tells, the owner is unknown.
 */
import os from 'node:os';
import { listenersOn, type TableSource } from '../serve/proc-net.js';
import { listenersIn, parseTcpTable } from '../serve/win-tcp-table.js';
import { win32Sockets, AF_INET, AF_INET6, TCP_TABLE_OWNER_PID_LISTENER, type ProcessOwner } from '../serve/win32-ffi.js';
import { runCommand, type Runner } from './runner.js';

export interface PortHolder {
  /** As the system spells it: 127.0.0.1, ::1, 0.0.0.0, ::, * … */
  address: string;
  uid?: number;
  /** The user name, when it could be found. */
  user?: string;
  pid?: number;
}

export type PortOwner =
  | { who: 'nobody' }
  | { who: 'us'; holders: PortHolder[] }
  | { who: 'other'; holders: PortHolder[] }
  /** Someone listens (or may), but the system did not say who. */
  | { who: 'unknown'; holders: PortHolder[]; why: string };

export interface OwnerContext {
  platform?: NodeJS.Platform;
  uid?: number | undefined;
  /** This user as Windows names it (DOMAIN\user), to compare with tasklist's answer. */
  windowsUser?: string;
  run?: Runner;
  proc?: TableSource;
  /** Windows: the listener tables and process owners (the real calls unless a test gives its own). */
  windows?: () => WindowsOwnerSource;
}

export interface WindowsOwnerSource {
  /** The raw MIB_TCP(6)TABLE_OWNER_PID of listeners, or Windows' error code. */
  listeners(v6: boolean): Buffer | number;
  /** The owner of a process, with its DOMAIN\user name. */
  owner(pid: number): ProcessOwner;
  readonly self: ProcessOwner;
}

function win32OwnerSource(): WindowsOwnerSource {
  const w = win32Sockets();
  return {
    listeners: (v6) => w.tcpTable(v6 ? AF_INET6 : AF_INET, TCP_TABLE_OWNER_PID_LISTENER),
    owner: (pid) => w.processOwner(pid, true),
    self: w.processOwner(w.selfPid, true),
  };
}

/**
 * Windows, from the listener tables: a holder whose process cannot be opened (access denied) is
 * another user's (or the system's), as serve judges its peers (peer-windows.ts).
 */
export function windowsPortOwner(port: number, src: WindowsOwnerSource): PortOwner {
  const holders: (PortHolder & { sid?: string; denied?: string })[] = [];
  for (const v6 of [false, true]) {
    const raw = src.listeners(v6);
    const rows = typeof raw === 'number' ? undefined : parseTcpTable(raw, v6);
    if (!rows) {
      if (!v6) return { who: 'unknown', holders: [], why: `GetExtendedTcpTable failed (${typeof raw === 'number' ? raw : 'unreadable table'})` };
      continue;
    }
    for (const l of listenersIn(rows, port)) {
      const h: PortHolder & { sid?: string; denied?: string } = { address: l.address, pid: l.pid };
      if (l.pid !== 0) {
        const o = src.owner(l.pid);
        if (o.ok) {
          h.sid = o.sid;
          if (o.user) h.user = o.user;
        } else h.denied = `${o.step} error ${o.error}`;
      }
      holders.push(h);
    }
  }
  if (!holders.length) return { who: 'nobody' };
  const out = holders.map(({ sid: _s, denied: _d, ...h }) => h);
  if (!src.self.ok) return { who: 'unknown', holders: out, why: "this process's own user could not be read" };
  if (holders.some((h) => h.pid === 0))
    return { who: 'unknown', holders: out.map(({ pid: _p, ...h }) => h), why: 'Windows did not say which process listens (owner pid 0)' };
  const self = src.self.sid;
  if (holders.every((h) => h.sid === self)) return { who: 'us', holders: out };
  return { who: 'other', holders: out };
}

/** The user name of a uid (getent knows directory users too; `id` is there on macOS). */
function userName(uid: number, run: Runner, platform: NodeJS.Platform): string | undefined {
  const r = platform === 'linux' ? run('getent', ['passwd', String(uid)]) : run('id', ['-nu', String(uid)]);
  if (r.code !== 0) return undefined;
  const name = platform === 'linux' ? r.stdout.split(':')[0] : r.stdout.trim();
  return name || undefined;
}

/** `lsof -nP -iTCP:<port> -sTCP:LISTEN -F pun` prints p<pid>, u<uid>, n<address:port> lines. */
export function parseLsof(stdout: string, port: number): PortHolder[] {
  const out: PortHolder[] = [];
  let pid: number | undefined;
  let uid: number | undefined;
  for (const line of stdout.split('\n')) {
    const tag = line[0];
    const v = line.slice(1).trim();
    if (tag === 'p') pid = Number(v);
    else if (tag === 'u') uid = Number(v);
    else if (tag === 'n') {
      const m = /^(\*|\[?[0-9a-fA-F:.]+\]?|localhost):(\d+)$/.exec(v);
      if (!m || Number(m[2]) !== port) continue;
      const address = m[1]!.replace(/^\[|\]$/g, '');
      if (['*', '127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'].includes(address))
        out.push({ address, ...(uid !== undefined ? { uid } : {}), ...(pid !== undefined ? { pid } : {}) });
    }
  }
  return out;
}

/** `netstat -ano -p TCP` (and TCPv6): "  TCP    127.0.0.1:8787   0.0.0.0:0   LISTENING   4242". */
export function parseNetstat(stdout: string, port: number): PortHolder[] {
  const out: PortHolder[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'TCP' || f[3] !== 'LISTENING' || !f[1]) continue;
    const m = /^\[?([0-9a-fA-F:.]+?)\]?:(\d+)$/.exec(f[1]);
    if (!m || Number(m[2]) !== port) continue;
    if (['127.0.0.1', '::1', '0.0.0.0', '::'].includes(m[1]!)) out.push({ address: m[1]!, pid: Number(f[4]) });
  }
  return out;
}

/** `tasklist /FI "PID eq N" /V /FO CSV /NH`: the seventh column is DOMAIN\user. */
export function parseTasklistUser(stdout: string): string | undefined {
  const line = stdout.split(/\r?\n/).find((l) => l.startsWith('"'));
  const cols = line?.match(/"([^"]*)"/g)?.map((c) => c.slice(1, -1));
  const user = cols?.[6];
  return user && user !== 'N/A' ? user : undefined;
}

export function portOwner(port: number, o: OwnerContext = {}): PortOwner {
  const platform = o.platform ?? process.platform;
  const run = o.run ?? runCommand;
  const uid = 'uid' in o ? o.uid : process.getuid?.();
  let holders: PortHolder[];
  if (platform === 'linux') {
    const found = listenersOn(port, o.proc);
    if (found === undefined) return { who: 'unknown', holders: [], why: 'the socket table (/proc/net/tcp) cannot be read' };
    holders = found.map((l) => ({ address: l.address, uid: l.uid }));
  } else if (platform === 'darwin') {
    const r = run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-F', 'pun']);
    // lsof exits 1 when nothing matches.
    if (r.code !== 0 && r.stdout.trim() !== '') return { who: 'unknown', holders: [], why: `lsof exited ${r.code}` };
    holders = parseLsof(r.stdout, port);
  } else if (platform === 'win32') {
    let src: WindowsOwnerSource | undefined;
    try {
      src = o.windows ? o.windows() : win32OwnerSource();
    } catch {
      src = undefined; // no koffi in this build: ask netstat and tasklist
    }
    if (src) return windowsPortOwner(port, src);
    const r4 = run('netstat', ['-ano', '-p', 'TCP']);
    const r6 = run('netstat', ['-ano', '-p', 'TCPv6']);
    if (r4.code !== 0) return { who: 'unknown', holders: [], why: `netstat exited ${r4.code}` };
    holders = [...parseNetstat(r4.stdout, port), ...(r6.code === 0 ? parseNetstat(r6.stdout, port) : [])];
    for (const h of holders) {
      const t = run('tasklist', ['/FI', `PID eq ${h.pid}`, '/V', '/FO', 'CSV', '/NH']);
      const user = t.code === 0 ? parseTasklistUser(t.stdout) : undefined;
      if (user) h.user = user;
    }
    if (!holders.length) return { who: 'nobody' };
    const me = (
      o.windowsUser ?? `${process.env.USERDOMAIN ? `${process.env.USERDOMAIN}\\` : ''}${process.env.USERNAME ?? os.userInfo().username}`
    ).toLowerCase();
    if (holders.some((h) => h.user === undefined)) return { who: 'unknown', holders, why: 'tasklist did not name the user of the process' };
    // tasklist may leave out the domain for local accounts.
    const mine = (u: string) => u.toLowerCase() === me || u.toLowerCase() === me.split('\\').pop();
    return holders.every((h) => mine(h.user!)) ? { who: 'us', holders } : { who: 'other', holders };
  } else {
    return { who: 'unknown', holders: [], why: `no way to ask on ${platform}` };
  }
  if (!holders.length) return { who: 'nobody' };
  for (const h of holders) {
    if (h.uid !== undefined && h.uid !== uid) {
      const user = userName(h.uid, run, platform);
      if (user) h.user = user;
    }
  }
  if (uid === undefined || holders.some((h) => h.uid === undefined)) return { who: 'unknown', holders, why: 'the system did not say which user' };
  return holders.every((h) => h.uid === uid) ? { who: 'us', holders } : { who: 'other', holders };
}

const spell = (a: string, port: number) => `${a.includes(':') ? `[${a}]` : a}:${port}`;

/** "user anafsquat (uid 1001) on [::1]:8787", for messages. */
export function describeHolders(owner: PortOwner, port: number): string {
  if (owner.who === 'nobody') return 'nobody';
  const parts = owner.holders.map((h) => {
    const who = h.user !== undefined ? `user ${h.user}${h.uid !== undefined ? ` (uid ${h.uid})` : ''}` : h.uid !== undefined ? `uid ${h.uid}` : 'a program';
    return `${who}${h.pid !== undefined ? ` pid ${h.pid}` : ''} on ${spell(h.address, port)}`;
  });
  const text = parts.length ? parts.join(', ') : 'someone';
  if (owner.who === 'us') return `this same user: ${text}`;
  if (owner.who === 'other') return `another user: ${text}`;
  return `${text} (${owner.why})`;
}
