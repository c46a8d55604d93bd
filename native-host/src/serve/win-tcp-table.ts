/**
 * Windows' TCP tables as GetExtendedTcpTable returns them with an OWNER_PID class: which process
 * holds each socket. Plain bytes in, rows out, so the parsing is tested anywhere (on tables
 * captured under wine and on built ones).
 *
 *   MIB_TCPTABLE_OWNER_PID   DWORD count, then rows of 24 bytes:
 *     state, local addr, local port, remote addr, remote port, owning pid
 *   MIB_TCP6TABLE_OWNER_PID  DWORD count, then rows of 56 bytes:
 *     local addr[16], local scope, local port, remote addr[16], remote scope, remote port, state, pid
 *
 * DWORDs are little-endian; addresses are in network order (bytes as written), and a port is in
 * network order in the low two bytes of its DWORD.
 */
import net from 'node:net';
import { addressBytes, type Endpoint } from './proc-net.js';

export const MIB_TCP_STATE_LISTEN = 2;
export const MIB_TCP_STATE_ESTAB = 5;
export const MIB_TCP_STATE_TIME_WAIT = 11;

export interface TcpRow {
  state: number;
  /** As Node spells addresses: 127.0.0.1, ::1, ::ffff:127.0.0.1. */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  pid: number;
}

const V4_ROW = 24;
const V6_ROW = 56;

function v6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return compress(groups);
}

/** The shortest spelling (RFC 5952), as Node prints remoteAddress: ::1, ::ffff:127.0.0.1. */
function compress(groups: string[]): string {
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const hi = parseInt(groups[6]!, 16);
    const lo = parseInt(groups[7]!, 16);
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** The rows of a MIB_TCPTABLE_OWNER_PID (v6 false) or MIB_TCP6TABLE_OWNER_PID (v6 true); undefined when the bytes are not one. */
export function parseTcpTable(buf: Buffer, v6: boolean): TcpRow[] | undefined {
  if (buf.length < 4) return undefined;
  const count = buf.readUInt32LE(0);
  const size = v6 ? V6_ROW : V4_ROW;
  if (4 + count * size > buf.length) return undefined;
  const rows: TcpRow[] = [];
  for (let i = 0; i < count; i++) rows.push(rowAt(buf, 4 + i * size, v6));
  return rows;
}

function rowAt(buf: Buffer, o: number, v6: boolean): TcpRow {
  return v6
    ? {
        localAddress: v6Text(buf.subarray(o, o + 16)),
        localPort: buf.readUInt16BE(o + 20),
        remoteAddress: v6Text(buf.subarray(o + 24, o + 40)),
        remotePort: buf.readUInt16BE(o + 44),
        state: buf.readUInt32LE(o + 48),
        pid: buf.readUInt32LE(o + 52),
      }
    : {
        state: buf.readUInt32LE(o),
        localAddress: [...buf.subarray(o + 4, o + 8)].join('.'),
        localPort: buf.readUInt16BE(o + 8),
        remoteAddress: [...buf.subarray(o + 12, o + 16)].join('.'),
        remotePort: buf.readUInt16BE(o + 16),
        pid: buf.readUInt32LE(o + 20),
      };
}

/** The same address however it is spelled (127.0.0.1 and ::ffff:127.0.0.1 are one). */
export function sameAddress(a: string, b: string): boolean {
  const x = addressBytes(a);
  const y = addressBytes(b);
  if (!x || !y) return false;
  const v4 = (v: number[]) => (v.length === 4 ? v : v.slice(0, 10).every((n) => n === 0) && v[10] === 0xff && v[11] === 0xff ? v.slice(12) : v);
  const p = v4(x);
  const q = v4(y);
  return p.length === q.length && p.every((n, i) => n === q[i]);
}

/**
 * The pid holding the other end of each loopback connection: the live row whose local end is the
 * connection's remote one and whose remote end is ours; undefined when no row says (the peer
 * left; a row in TIME_WAIT belongs to nobody). One pass over the raw table for a batch, making
 * text only of the rows whose ports match: a terminal server's table holds every user's
 * connections.
 */
export function peerPids(buf: Buffer, v6: boolean, lookups: readonly { ours: Endpoint; theirs: Endpoint }[]): (number | undefined)[] {
  const out: (number | undefined)[] = lookups.map(() => undefined);
  if (buf.length < 4 || lookups.length === 0) return out;
  const size = v6 ? V6_ROW : V4_ROW;
  const count = Math.min(buf.readUInt32LE(0), Math.floor((buf.length - 4) / size));
  // The row of a peer has local port = its port, remote port = ours.
  const wanted = new Map<number, number[]>();
  lookups.forEach((l, i) => {
    const key = l.theirs.port * 65_536 + l.ours.port;
    wanted.set(key, [...(wanted.get(key) ?? []), i]);
  });
  const [lp, rp, st] = v6 ? [20, 44, 48] : [8, 16, 0];
  let left = lookups.length;
  for (let r = 0; r < count && left > 0; r++) {
    const o = 4 + r * size;
    const idx = wanted.get(buf.readUInt16BE(o + lp) * 65_536 + buf.readUInt16BE(o + rp));
    if (!idx || buf.readUInt32LE(o + st) === MIB_TCP_STATE_TIME_WAIT) continue;
    const row = rowAt(buf, o, v6);
    for (const i of idx) {
      const l = lookups[i]!;
      if (out[i] === undefined && sameAddress(row.localAddress, l.theirs.address) && sameAddress(row.remoteAddress, l.ours.address)) {
        out[i] = row.pid;
        left--;
      }
    }
  }
  return out;
}

/** The addresses whose listener takes connections to 127.0.0.1 or ::1. */
const CATCHES_LOOPBACK = ['127.0.0.1', '0.0.0.0', '::1', '::'];

/** Who listens on this port where a loopback connection would reach it. */
export function listenersIn(rows: readonly TcpRow[], port: number): { address: string; pid: number }[] {
  return rows
    .filter(
      (r) =>
        r.state === MIB_TCP_STATE_LISTEN && r.localPort === port && (CATCHES_LOOPBACK.includes(r.localAddress) || sameAddress(r.localAddress, '127.0.0.1')),
    )
    .map((r) => ({ address: net.isIPv6(r.localAddress) && sameAddress(r.localAddress, '127.0.0.1') ? '127.0.0.1' : r.localAddress, pid: r.pid }));
}
