/**
 * The macOS peer check (libproc) apart from macOS: the kernel's structures, laid out here from
 * <sys/proc_info.h> field by field (independently of the offsets peer-macos.ts reads), and the
 * rule over processes given by the test. It could not be run on a Mac here.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { addressBytes } from '../../native-host/src/serve/proc-net.js';
import { peerCheck } from '../../native-host/src/serve/peer.js';
import {
  SOCKET_FDINFO_SIZE,
  bsdUid,
  macPeerCheck,
  scanForPeers,
  socketFds,
  tcpSocketInfo,
  type MacProcSource,
  type TcpSocketInfo,
} from '../../native-host/src/serve/peer-macos.js';

type Field = [name: string, size: number, align: number];

/** C layout (LP64): each field at the next multiple of its alignment; the struct rounded to its largest. */
function layout(fields: Field[], base = 0): { at: Record<string, number>; size: number; align: number } {
  const at: Record<string, number> = {};
  let o = 0;
  let align = 1;
  for (const [name, size, a] of fields) {
    o = Math.ceil(o / a) * a;
    at[name] = base + o;
    o += size;
    align = Math.max(align, a);
  }
  return { at, size: Math.ceil(o / align) * align, align };
}

// struct proc_fileinfo
const procFileinfo = layout([
  ['fi_openflags', 4, 4],
  ['fi_status', 4, 4],
  ['fi_offset', 8, 8],
  ['fi_type', 4, 4],
  ['fi_guardflags', 4, 4],
]);
// struct vinfo_stat
const vinfoStat = layout([
  ['vst_dev', 4, 4],
  ['vst_mode', 2, 2],
  ['vst_nlink', 2, 2],
  ['vst_ino', 8, 8],
  ['vst_uid', 4, 4],
  ['vst_gid', 4, 4],
  ...['atime', 'atimensec', 'mtime', 'mtimensec', 'ctime', 'ctimensec', 'birthtime', 'birthtimensec', 'size', 'blocks'].map((n): Field => [`vst_${n}`, 8, 8]),
  ['vst_blksize', 4, 4],
  ['vst_flags', 4, 4],
  ['vst_gen', 4, 4],
  ['vst_rdev', 4, 4],
  ['vst_qspare', 16, 8],
]);
// struct sockbuf_info
const sockbufInfo = layout([
  ['sbi_cc', 4, 4],
  ['sbi_hiwat', 4, 4],
  ['sbi_mbcnt', 4, 4],
  ['sbi_mbmax', 4, 4],
  ['sbi_lowat', 4, 4],
  ['sbi_flags', 2, 2],
  ['sbi_timeo', 2, 2],
]);
// struct socket_info, after proc_fileinfo in struct socket_fdinfo
const socketInfo = layout(
  [
    ['soi_stat', vinfoStat.size, vinfoStat.align],
    ['soi_so', 8, 8],
    ['soi_pcb', 8, 8],
    ['soi_type', 4, 4],
    ['soi_protocol', 4, 4],
    ['soi_family', 4, 4],
    ...['options', 'linger', 'state', 'qlen', 'incqlen', 'qlimit', 'timeo', 'error'].map((n): Field => [`soi_${n}`, 2, 2]),
    ['soi_oobmark', 4, 4],
    ['soi_rcv', sockbufInfo.size, 4],
    ['soi_snd', sockbufInfo.size, 4],
    ['soi_kind', 4, 4],
    ['rfu_1', 4, 4],
    ['soi_proto', 528, 8],
  ],
  procFileinfo.size,
);
// struct in_sockinfo, first in soi_proto.pri_tcp (struct tcp_sockinfo), then tcpsi_state
const inSockinfo = layout(
  [
    ['insi_fport', 4, 4],
    ['insi_lport', 4, 4],
    ['insi_gencnt', 8, 8],
    ['insi_flags', 4, 4],
    ['insi_flow', 4, 4],
    ['insi_vflag', 1, 1],
    ['insi_ip_ttl', 1, 1],
    ['rfu_1', 4, 4],
    ['insi_faddr', 16, 4],
    ['insi_laddr', 16, 4],
    ['insi_v4', 1, 1],
    ['insi_v6', 12, 4],
  ],
  socketInfo.at.soi_proto,
);
const tcpsiState = inSockinfo.at.insi_fport! + inSockinfo.size;

describe('libproc structures', () => {
  it('are where peer-macos.ts reads them (and where lsof-like tools read them: kind 256, ports 264/268, state 344)', () => {
    expect(procFileinfo.size).toBe(24);
    expect(vinfoStat.size).toBe(136);
    expect([socketInfo.at.soi_family, socketInfo.at.soi_kind, inSockinfo.at.insi_fport, inSockinfo.at.insi_lport, tcpsiState]).toEqual([
      184, 256, 264, 268, 344,
    ]);
  });

  /** A socket_fdinfo as the kernel fills it, at the offsets computed above. */
  function socketFdinfo(s: TcpSocketInfo, kind = 2): Buffer {
    const b = Buffer.alloc(SOCKET_FDINFO_SIZE);
    b.writeInt32LE(kind, socketInfo.at.soi_kind);
    const v6 = s.localAddress.includes(':');
    b.writeInt32LE(v6 ? 30 : 2, socketInfo.at.soi_family);
    // An int holding the port in network order: its first two bytes are the port, big-endian.
    b.writeUInt16BE(s.remotePort, inSockinfo.at.insi_fport);
    b.writeUInt16BE(s.localPort, inSockinfo.at.insi_lport);
    b.writeUInt8(v6 ? 2 : 1, inSockinfo.at.insi_vflag);
    const put = (addr: string, at: number) => {
      const bytes = addressBytes(addr)!;
      Buffer.from(bytes).copy(b, bytes.length === 4 ? at + 12 : at); // in4in6_addr: 12 bytes of padding, then the IPv4 address
    };
    put(s.remoteAddress, inSockinfo.at.insi_faddr!);
    put(s.localAddress, inSockinfo.at.insi_laddr!);
    b.writeInt32LE(s.state, tcpsiState);
    return b;
  }

  it('give a TCP socket its two ends, IPv4 and IPv6, and nothing for other sockets or short answers', () => {
    const v4: TcpSocketInfo = { localAddress: '127.0.0.1', localPort: 50123, remoteAddress: '127.0.0.1', remotePort: 8787, state: 4 };
    expect(tcpSocketInfo(socketFdinfo(v4), SOCKET_FDINFO_SIZE)).toEqual(v4);
    const v6: TcpSocketInfo = { localAddress: '0:0:0:0:0:0:0:1', localPort: 50124, remoteAddress: '0:0:0:0:0:0:0:1', remotePort: 8787, state: 4 };
    expect(tcpSocketInfo(socketFdinfo(v6), SOCKET_FDINFO_SIZE)).toEqual(v6);
    expect(tcpSocketInfo(socketFdinfo(v4, 1), SOCKET_FDINFO_SIZE)).toBeUndefined(); // SOCKINFO_IN (UDP)
    expect(tcpSocketInfo(socketFdinfo(v4), 300)).toBeUndefined();
  });

  it('list the socket fds of a process, and read its uid', () => {
    const fds = Buffer.alloc(8 * 4);
    [
      [0, 1],
      [3, 2],
      [4, 1],
      [7, 2],
    ].forEach(([fd, type], i) => {
      fds.writeInt32LE(fd!, i * 8);
      fds.writeUInt32LE(type!, i * 8 + 4);
    });
    expect(socketFds(fds, 32)).toEqual([3, 7]);
    expect(socketFds(fds, 16)).toEqual([3]);
    // struct proc_bsdshortinfo: pid, ppid, pgid, status, comm[16], flags, then uid.
    const info = layout([
      ['pbsi_pid', 4, 4],
      ['pbsi_ppid', 4, 4],
      ['pbsi_pgid', 4, 4],
      ['pbsi_status', 4, 4],
      ['pbsi_comm', 16, 1],
      ['pbsi_flags', 4, 4],
      ['pbsi_uid', 4, 4],
      ['rest', 24, 4],
    ]);
    const b = Buffer.alloc(info.size);
    b.writeUInt32LE(501, info.at.pbsi_uid);
    expect(info.size).toBe(64);
    expect(bsdUid(b, 64)).toBe(501);
    expect(bsdUid(b, 0)).toBeUndefined();
  });
});

const ep = (address: string, port: number) => ({ address, port });
const sock = (localAddress: string, localPort: number, remoteAddress: string, remotePort: number): TcpSocketInfo => ({
  localAddress,
  localPort,
  remoteAddress,
  remotePort,
  state: 4,
});

/** Processes: pid → uid, whether its fds may be listed, its sockets. */
function procs(table: Record<number, { uid: number; listable: boolean; sockets: TcpSocketInfo[] }>): MacProcSource & { calls: number } {
  const src = {
    calls: 0,
    pids: () => Object.keys(table).map(Number),
    uid: (pid: number) => table[pid]?.uid,
    socketFds: (pid: number) => (src.calls++, table[pid]?.listable ? table[pid].sockets.map((_, i) => i + 3) : undefined),
    tcp: (pid: number, fd: number) => table[pid]?.sockets[fd - 3],
  };
  return src;
}

describe('the macOS rule', () => {
  it('ours when a process of our user holds the peer end; not ours otherwise; cannot tell when our own end is not seen', () => {
    const src = procs({
      1: {
        uid: 501,
        listable: true,
        sockets: [
          sock('127.0.0.1', 8787, '127.0.0.1', 50001),
          sock('127.0.0.1', 8787, '127.0.0.1', 50002),
          sock('::ffff:127.0.0.1', 8787, '::ffff:127.0.0.1', 50003),
        ],
      },
      2: { uid: 501, listable: true, sockets: [sock('127.0.0.1', 50001, '127.0.0.1', 8787)] },
      // Another user's process: its fds cannot be listed (not root) …
      3: { uid: 502, listable: false, sockets: [sock('127.0.0.1', 50002, '127.0.0.1', 8787)] },
      // … and, were we root, its uid still is not ours.
      4: { uid: 502, listable: true, sockets: [sock('127.0.0.1', 50003, '127.0.0.1', 8787)] },
    });
    const found = scanForPeers(src, 501, 1, [
      { ours: ep('127.0.0.1', 8787), theirs: ep('127.0.0.1', 50001) },
      { ours: ep('127.0.0.1', 8787), theirs: ep('127.0.0.1', 50002) },
      { ours: ep('127.0.0.1', 8787), theirs: ep('127.0.0.1', 50003) },
      // Our own end of this one is nowhere: the layout is not read right, or it is not our connection.
      { ours: ep('127.0.0.1', 8787), theirs: ep('127.0.0.1', 50004) },
    ]);
    expect(found).toEqual(['ours', 'not-ours', 'not-ours', 'cannot-tell']);
    // Processes of other users are not even listed.
    expect(src.calls).toBe(2);
  });

  describe('over real connections', () => {
    const open: (net.Server | net.Socket)[] = [];
    afterEach(() => {
      for (const x of open.splice(0)) {
        if (x instanceof net.Server) x.close();
        else x.destroy();
      }
    });

    it('judges the connections accepted in one turn with one scan; lets through what it cannot tell, and says why', async () => {
      const server = net.createServer();
      open.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      const accepted: net.Socket[] = [];
      const all = new Promise<void>((r) => server.on('connection', (s) => (open.push(s), accepted.push(s) === 3 && r())));
      const clients = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<net.Socket>((r) => {
              const c = net.connect(port, '127.0.0.1', () => r(c));
              open.push(c);
            }),
        ),
      );
      await all;
      const [mine, theirs, unseen] = clients.map((c) => c.localPort!);
      const src = procs({
        10: { uid: 501, listable: true, sockets: [mine!, theirs!].map((p) => sock('127.0.0.1', port, '127.0.0.1', p)) },
        11: { uid: 501, listable: true, sockets: [sock('127.0.0.1', mine!, '127.0.0.1', port)] },
        12: { uid: 502, listable: false, sockets: [sock('127.0.0.1', theirs!, '127.0.0.1', port)] },
      });
      const check = macPeerCheck(src, 501, 10);
      expect(check.kind).toBe('process-uid');
      const byPort = new Map(accepted.map((s) => [s.remotePort, s]));
      for (const s of accepted) check.accepted(s);
      const verdicts = await Promise.all([mine, theirs, unseen].map(async (p) => check.verdict(byPort.get(p)!)));
      expect(verdicts).toEqual([true, false, true]);
      expect(check.scans()).toBe(1);
      expect(check.unavailable).toMatch(/layout/);
      expect(peerCheck({ platform: 'darwin', uid: 501, mac: () => src }).kind).toBe('process-uid');
    });
  });

  it("is 'none' with the reason where libproc cannot be loaded (here: not macOS)", () => {
    const check = peerCheck({ platform: 'darwin', uid: 501 });
    if (process.platform === 'darwin') return void expect(check.kind).toBe('process-uid');
    expect(check.kind).toBe('none');
    expect(check.unavailable).toMatch(/libproc could not be loaded/);
  });
});
