/**
 * Windows: who is at the other end of a loopback connection. A terminal server's users all share
 * 127.0.0.1, so `serve` asks Windows which process holds the peer socket (GetExtendedTcpTable,
 * the row whose local end is the connection's remote one) and which user runs that process
 * (its token's user SID), and closes the connection unless it is the user running `serve`.
 *
 * - A process that cannot be opened, or whose token cannot be read, is not ours: Windows grants
 *   PROCESS_QUERY_LIMITED_INFORMATION and TOKEN_QUERY to the process's own user, and refuses them
 *   to other (non-admin) users. So "access denied" is the usual answer for another user's ERP.
 *   Not tried on Windows here: whether a program of the same user run elevated (as administrator)
 *   while serve is not can be opened; if not, it is closed too (run both at the same level).
 * - A connection with no row (the peer already left) or a row with pid 0 is not ours either.
 * - The same user in another session (a second RDP logon of the same account, or a program
 *   started as a scheduled task) is served: the SID is the security principal. That user already
 *   holds the vault, its key (DPAPI / Credential Manager are per user, not per session) and the
 *   token files, so refusing it protects nothing, and an ERP and `serve` in two sessions of one
 *   account is a normal setup. The session is still read, for the log.
 *
 * The table is read on a worker thread (koffi's async call: the table of a terminal server holds
 * every user's connections), and one read serves every connection accepted before it started,
 * as on Linux (peer.ts).
 */
import net from 'node:net';
import type { Socket } from 'node:net';
import type { Endpoint } from './proc-net.js';
import { peerPids } from './win-tcp-table.js';
import type { ProcessOwner } from './win32-ffi.js';
import type { PeerCheck } from './peer.js';
import { LookupBatcher, answer, verdictPerSocket, type PeerLookup } from './peer-batch.js';

/** What the check needs of Windows; win32-ffi.ts gives the real one, tests inject theirs. */
export interface WindowsPeerSource {
  /** The raw IPv4 (v6 false) or IPv6 connection table (MIB_TCP(6)TABLE_OWNER_PID), undefined when it cannot be read. */
  connections(v6: boolean): Promise<Buffer | undefined>;
  owner(pid: number): ProcessOwner;
  /** This process's own answer (the user `serve` runs as). */
  readonly self: { pid: number; owner: ProcessOwner };
}

export type PeerFinding =
  | { ours: true; pid: number; session: number | undefined }
  | { ours: false; why: 'no-row' | 'pid-0' | 'cannot-open' | 'other-user' | 'self-unknown'; pid?: number; detail?: string };

/** The rule, apart from how the facts were found. */
export function judge(self: ProcessOwner, pid: number | undefined, owner: (pid: number) => ProcessOwner, selfPid: number): PeerFinding {
  if (!self.ok) return { ours: false, why: 'self-unknown', detail: `${self.step} ${self.error}` };
  if (pid === undefined) return { ours: false, why: 'no-row' };
  if (pid === 0) return { ours: false, why: 'pid-0' };
  const o = pid === selfPid ? self : owner(pid);
  if (!o.ok) return { ours: false, why: 'cannot-open', pid, detail: `${o.step} ${o.error}` };
  if (o.sid !== self.sid) return { ours: false, why: 'other-user', pid, detail: o.sid };
  return { ours: true, pid, session: o.session };
}

/** Peer pids from the connection tables, in batches (see the header; peer-batch.ts). */
export class WindowsTableReader {
  private readonly batcher = new LookupBatcher<number>((batch) => this.run(batch));
  /** Table reads made, for tests and the benchmark. */
  reads = 0;

  constructor(private readonly source: Pick<WindowsPeerSource, 'connections'>) {}

  lookup(ours: Endpoint, theirs: Endpoint): Promise<number | undefined> {
    return this.batcher.lookup(ours, theirs);
  }

  private async run(batch: PeerLookup<number>[]): Promise<void> {
    // An IPv4 peer is in the IPv4 table unless its socket is dual-stack; an IPv6 one only in the IPv6 table.
    for (const v6 of [false, true]) {
      const wanted = batch.filter((l) => !l.done && (v6 || net.isIPv4(l.theirs.address) || l.theirs.address.startsWith('::ffff:')));
      if (wanted.length === 0) continue;
      this.reads++;
      const table = await this.source.connections(v6).catch(() => undefined);
      if (!table) continue;
      peerPids(table, v6, wanted).forEach((pid, i) => {
        if (pid !== undefined) answer(wanted[i]!, pid);
      });
    }
  }
}

export interface WindowsPeerCheck extends PeerCheck {
  /** Why the last verdict on a connection was what it was (for the log). */
  finding(socket: Socket): PeerFinding | undefined;
  readonly reader: WindowsTableReader;
}

export function windowsPeerCheck(source: WindowsPeerSource): WindowsPeerCheck {
  const reader = new WindowsTableReader(source);
  const findings = new WeakMap<Socket, PeerFinding>();
  return {
    kind: 'sid',
    reader,
    ...verdictPerSocket(async (ours, theirs, socket) => {
      const pid = await reader.lookup(ours, theirs);
      const f = judge(source.self.owner, pid, (n) => source.owner(n), source.self.pid);
      findings.set(socket, f);
      return f.ours;
    }),
    finding: (socket) => findings.get(socket),
  };
}

/** The real source, from the Windows calls. */
export function win32PeerSource(api: {
  tcpTableAsync: (af: 2 | 23, tableClass: number) => Promise<Buffer | number>;
  processOwner: (pid: number) => ProcessOwner;
  selfPid: number;
}): WindowsPeerSource {
  const TCP_TABLE_OWNER_PID_CONNECTIONS = 4;
  return {
    async connections(v6) {
      const t = await api.tcpTableAsync(v6 ? 23 : 2, TCP_TABLE_OWNER_PID_CONNECTIONS);
      return typeof t === 'number' ? undefined : t;
    },
    owner: (pid) => api.processOwner(pid),
    self: { pid: api.selfPid, owner: api.processOwner(api.selfPid) },
  };
}
