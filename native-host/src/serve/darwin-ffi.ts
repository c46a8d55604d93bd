/**
 * The libproc calls of the macOS peer check (peer-macos.ts), through koffi. Only this module
 * touches native code; the answers leave it as the bytes the kernel wrote, parsed in peer-macos.ts.
 * Loaded on first use, on macOS only.
 */
import type * as Koffi from 'koffi';
import { loadKoffi } from '../platform/koffi.js';
import {
  BSDSHORTINFO_SIZE,
  PROC_FDINFO_SIZE,
  PROC_PIDFDSOCKETINFO,
  PROC_PIDLISTFDS,
  PROC_PIDT_SHORTBSDINFO,
  SOCKET_FDINFO_SIZE,
  bsdUid,
  socketFds,
  tcpSocketInfo,
  type MacProcSource,
} from './peer-macos.js';

type KoffiApi = Pick<typeof Koffi, 'load'>;

export function darwinProcSource(koffi?: KoffiApi): MacProcSource {
  // Until the shared loader (platform/koffi.ts) exists, required from node_modules when first needed.
  const k = koffi ?? loadKoffi();
  const lib = k.load('/usr/lib/libSystem.B.dylib');
  const listAll = lib.func('int proc_listallpids(void *buffer, int size)');
  const pidinfo = lib.func('int proc_pidinfo(int pid, int flavor, uint64_t arg, void *buffer, int size)');
  const pidfdinfo = lib.func('int proc_pidfdinfo(int pid, int fd, int flavor, void *buffer, int size)');
  const short = Buffer.alloc(BSDSHORTINFO_SIZE);
  const sock = Buffer.alloc(SOCKET_FDINFO_SIZE);
  return {
    pids() {
      // The count can grow between two calls: leave room.
      const n = listAll(null, 0) as number;
      const buf = Buffer.alloc(Math.max(n, 0) * 4 + 4096);
      const got = listAll(buf, buf.length) as number;
      const pids: number[] = [];
      for (let i = 0; i < got && (i + 1) * 4 <= buf.length; i++) pids.push(buf.readInt32LE(i * 4));
      return pids.filter((p) => p > 0);
    },
    uid(pid) {
      return bsdUid(short, pidinfo(pid, PROC_PIDT_SHORTBSDINFO, 0, short, short.length) as number);
    },
    socketFds(pid) {
      const need = pidinfo(pid, PROC_PIDLISTFDS, 0, null, 0) as number;
      if (need <= 0) return undefined;
      const buf = Buffer.alloc(need + 32 * PROC_FDINFO_SIZE);
      const got = pidinfo(pid, PROC_PIDLISTFDS, 0, buf, buf.length) as number;
      return got <= 0 ? undefined : socketFds(buf, got);
    },
    tcp(pid, fd) {
      return tcpSocketInfo(sock, pidfdinfo(pid, fd, PROC_PIDFDSOCKETINFO, sock, sock.length) as number);
    },
  };
}
