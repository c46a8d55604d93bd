/**
 * macOS: who is at the other end of a loopback connection. `getpeereid` and LOCAL_PEERCRED are
 * for Unix sockets only, and macOS has no socket table with owners like Linux's /proc/net/tcp.
 * What it has is libproc, lsof's source: the processes (proc_listallpids), each one's user
 * (PROC_PIDT_SHORTBSDINFO, readable for any process), the open files of a process
 * (PROC_PIDLISTFDS, readable only for one's own processes unless root) and a socket's ends
 * (proc_pidfdinfo PROC_PIDFDSOCKETINFO). So the question becomes: does a process of our user
 * hold the peer's socket (local port = the connection's remote one, remote port = ours)? If not,
 * the connection is another user's (or its process is gone) and is closed.
 *
 * The structures are read at fixed offsets of <sys/proc_info.h> (LP64, the same on x86_64 and
 * arm64). Those offsets could not be checked on a Mac here; to keep a wrong one from locking every
 * ERP out, each scan also looks for our own end of the connection in our own process: when even
 * that is not found, the layout is not what this code expects, and the check says it cannot
 * tell (the client key's proof still protects) instead of closing the connection. Another user
 * cannot cause that: our end stays in our process until serve closes it.
 */
import type { Endpoint } from './proc-net.js';
import { sameAddress } from './win-tcp-table.js';
import type { PeerCheck } from './peer.js';
import { LookupBatcher, answer, verdictPerSocket } from './peer-batch.js';

export const PROC_PIDLISTFDS = 1;
export const PROC_PIDT_SHORTBSDINFO = 13;
export const PROC_PIDFDSOCKETINFO = 3;
export const PROX_FDTYPE_SOCKET = 2;
export const SOCKINFO_TCP = 2;
/** sizeof(struct proc_fdinfo): int32 fd, uint32 type. */
export const PROC_FDINFO_SIZE = 8;
/** sizeof(struct proc_bsdshortinfo); pbsi_uid at 36. */
export const BSDSHORTINFO_SIZE = 64;
/** sizeof(struct socket_fdinfo). */
export const SOCKET_FDINFO_SIZE = 792;

/** Offsets in struct socket_fdinfo (proc_fileinfo 24 bytes, then socket_info). */
const OFF = {
  soiKind: 256,
  /** soi_proto.pri_tcp.tcpsi_ini: struct in_sockinfo. */
  fport: 264,
  lport: 268,
  vflag: 288,
  faddr: 296,
  laddr: 312,
  tcpState: 344,
} as const;
const INI_IPV4 = 0x1;
const INI_IPV6 = 0x2;

export interface TcpSocketInfo {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: number;
}

/** The fds of type socket in a PROC_PIDLISTFDS answer. */
export function socketFds(buf: Buffer, bytes: number): number[] {
  const out: number[] = [];
  for (let o = 0; o + PROC_FDINFO_SIZE <= Math.min(bytes, buf.length); o += PROC_FDINFO_SIZE) {
    if (buf.readUInt32LE(o + 4) === PROX_FDTYPE_SOCKET) out.push(buf.readInt32LE(o));
  }
  return out;
}

/** pbsi_uid of a PROC_PIDT_SHORTBSDINFO answer, or undefined when it is short. */
export function bsdUid(buf: Buffer, bytes: number): number | undefined {
  return bytes >= 40 && buf.length >= 40 ? buf.readUInt32LE(36) : undefined;
}

function address(buf: Buffer, at: number, v6: boolean): string {
  if (!v6) return [...buf.subarray(at + 12, at + 16)].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(at + i).toString(16));
  return groups.join(':');
}

/** A TCP socket's ends from a PROC_PIDFDSOCKETINFO answer; undefined for other sockets or a short answer. */
export function tcpSocketInfo(buf: Buffer, bytes: number): TcpSocketInfo | undefined {
  if (bytes < OFF.tcpState + 4 || buf.length < OFF.tcpState + 4) return undefined;
  if (buf.readInt32LE(OFF.soiKind) !== SOCKINFO_TCP) return undefined;
  const vflag = buf.readUInt8(OFF.vflag);
  const v6 = (vflag & INI_IPV6) !== 0 && (vflag & INI_IPV4) === 0;
  return {
    // Ports are in network order in the low two bytes of an int.
    localPort: buf.readUInt16BE(OFF.lport),
    remotePort: buf.readUInt16BE(OFF.fport),
    localAddress: address(buf, OFF.laddr, v6),
    remoteAddress: address(buf, OFF.faddr, v6),
    state: buf.readInt32LE(OFF.tcpState),
  };
}

/** What the check needs of macOS; darwin-ffi.ts gives the real one, tests give theirs. */
export interface MacProcSource {
  pids(): number[];
  /** The process's effective uid, or undefined when it cannot be read (gone). */
  uid(pid: number): number | undefined;
  /** Its socket fds, or undefined when it may not be listed (another user's process). */
  socketFds(pid: number): number[] | undefined;
  tcp(pid: number, fd: number): TcpSocketInfo | undefined;
}

/** The end `local`→`remote` of a TCP socket, matched as the connection's addresses may be spelled. */
function isEnd(s: TcpSocketInfo, local: Endpoint, remote: Endpoint): boolean {
  return (
    s.localPort === local.port && s.remotePort === remote.port && sameAddress(s.localAddress, local.address) && sameAddress(s.remoteAddress, remote.address)
  );
}

export type MacFinding = 'ours' | 'not-ours' | 'cannot-tell';

interface Lookup {
  ours: Endpoint;
  theirs: Endpoint;
  peerFound: boolean;
  selfFound: boolean;
}

/**
 * One pass over our user's processes for a batch of connections. `selfPid` holds our end of
 * each: finding it proves the layout is read right (see the header).
 */
export function scanForPeers(src: MacProcSource, uid: number, selfPid: number, batch: { ours: Endpoint; theirs: Endpoint }[]): MacFinding[] {
  const ls: Lookup[] = batch.map((b) => ({ ...b, peerFound: false, selfFound: false }));
  let left = ls.length;
  for (const pid of src.pids()) {
    if (left === 0) break;
    if (pid !== selfPid && src.uid(pid) !== uid) continue;
    const fds = src.socketFds(pid);
    if (!fds) continue;
    for (const fd of fds) {
      const s = src.tcp(pid, fd);
      if (!s) continue;
      for (const l of ls) {
        if (!l.peerFound && isEnd(s, l.theirs, l.ours)) l.peerFound = true;
        else if (!l.selfFound && pid === selfPid && isEnd(s, l.ours, l.theirs)) l.selfFound = true;
        else continue;
        if (l.peerFound && l.selfFound) left--;
      }
    }
  }
  return ls.map((l) => (!l.selfFound ? 'cannot-tell' : l.peerFound ? 'ours' : 'not-ours'));
}

export interface MacPeerCheck extends PeerCheck {
  /** Scans made, for tests. */
  readonly scans: () => number;
}

/**
 * The check, batched: the connections accepted in one turn of the event loop share one scan,
 * run on the next turn. The scan is synchronous (a few system calls per process of our user and
 * per socket they hold), which is why it is shared.
 */
export function macPeerCheck(src: MacProcSource, uid: number, selfPid = process.pid): MacPeerCheck {
  let scans = 0;
  let unavailable: string | undefined;
  const batcher = new LookupBatcher<MacFinding>((batch) => {
    scans++;
    let found: MacFinding[];
    try {
      found = scanForPeers(src, uid, selfPid, batch);
    } catch {
      found = batch.map(() => 'cannot-tell');
    }
    batch.forEach((b, i) => answer(b, found[i]));
  }, true);
  const verdicts = verdictPerSocket(async (ours, theirs) => {
    const f = (await batcher.lookup(ours, theirs)) ?? 'cannot-tell';
    if (f === 'cannot-tell') unavailable = 'libproc did not show this process its own end of a connection: the structure layout is not the expected one';
    return f !== 'not-ours';
  });
  return {
    kind: 'process-uid',
    get unavailable() {
      return unavailable;
    },
    ...verdicts,
    scans: () => scans,
  };
}
