/**
 * Linux's table of TCP sockets (/proc/net/tcp and /proc/net/tcp6): who owns the other end of a
 * loopback connection, and who listens on a port. Each line names a socket by its local and
 * remote address:port in hex and gives the uid of the user who made it:
 *
 *    sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *     0: 0100007F:2253 0100007F:D4A2 01 00000000:00000000 00:00000000 00000000     0        0 123 …
 *
 * An address is printed as 32-bit words in the machine's byte order (127.0.0.1 on x86 is
 * 0100007F), the port as four hex digits.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

export const PROC_TCP = '/proc/net/tcp';
export const PROC_TCP6 = '/proc/net/tcp6';
const LISTEN = '0A';
const TIME_WAIT = '06';

const LITTLE = os.endianness() === 'LE';

/** The 16 bytes of an IPv6 address (or 4 of an IPv4 one), or undefined. */
export function addressBytes(ip: string): number[] | undefined {
  if (net.isIPv4(ip)) return ip.split('.').map(Number);
  if (!net.isIPv6(ip)) return undefined;
  let text = ip.replace(/%.*$/, '');
  // An embedded IPv4 tail (::ffff:127.0.0.1) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** How /proc/net/tcp{,6} prints these address bytes. */
export function procHex(bytes: readonly number[], little = LITTLE): string {
  let out = '';
  for (let w = 0; w < bytes.length; w += 4) {
    const word = bytes.slice(w, w + 4);
    for (const b of little ? word.reverse() : word) out += b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const portHex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
const V4_MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** The spellings of an address in one of the two files: an IPv4 address appears in tcp6 as ::ffff:a.b.c.d. */
function spellings(ip: string, v6File: boolean, little: boolean): string[] {
  const b = addressBytes(ip);
  if (!b) return [];
  if (b.length === 4) return [v6File ? procHex([...V4_MAPPED, ...b], little) : procHex(b, little)];
  if (!v6File) {
    const mapped = b.slice(0, 12).every((x, i) => x === V4_MAPPED[i]);
    return mapped ? [procHex(b.slice(12), little)] : [];
  }
  return [procHex(b, little)];
}

export interface Endpoint {
  address: string;
  port: number;
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/** The uid column of a line of the table (the eighth field). */
function uidOfLine(text: string, at: number): { uid: number; state: string } | undefined {
  const start = text.lastIndexOf('\n', at) + 1;
  const end = text.indexOf('\n', at);
  const fields = text
    .slice(start, end < 0 ? undefined : end)
    .trim()
    .split(/\s+/);
  const uid = Number(fields[7]);
  return Number.isInteger(uid) && fields[3] ? { uid, state: fields[3] } : undefined;
}

export interface TableSource {
  tcp: () => string | undefined;
  tcp6: () => string | undefined;
  little?: boolean;
}

const procFiles: TableSource = { tcp: () => read(PROC_TCP), tcp6: () => read(PROC_TCP6) };

/** What to look for in one file: the line of the peer socket (local = their end, remote = ours). */
export function peerNeedles(v6File: boolean, ours: Endpoint, theirs: Endpoint, little = LITTLE): string[] {
  const out: string[] = [];
  for (const t of spellings(theirs.address, v6File, little)) {
    for (const o of spellings(ours.address, v6File, little)) out.push(` ${t}:${portHex(theirs.port)} ${o}:${portHex(ours.port)} `);
  }
  return out;
}

/**
 * The uid on the line where `needle` appears in `text` (whole lines), or null when it is not
 * there; undefined when the line is a socket in TIME_WAIT, which belongs to nobody any more
 * (its uid reads 0).
 */
export function uidAt(text: string, needle: string): number | undefined | null {
  const at = text.indexOf(needle);
  if (at < 0) return null;
  const line = uidOfLine(text, at);
  return line && line.state !== TIME_WAIT ? line.uid : undefined;
}

export interface Listener {
  /** As Node spells it: 127.0.0.1, 0.0.0.0, ::1, ::. */
  address: string;
  uid: number;
}

/** The loopback and wildcard addresses whose listener takes connections to 127.0.0.1 or ::1. */
const CATCHES_LOOPBACK: Record<string, string> = {};
for (const [ip, v6] of [
  ['127.0.0.1', false],
  ['0.0.0.0', false],
  ['127.0.0.1', true],
  ['0.0.0.0', true],
  ['::1', true],
  ['::', true],
] as const) {
  for (const little of [true, false]) CATCHES_LOOPBACK[`${v6 ? 6 : 4}${little ? 'L' : 'B'}${spellings(ip, v6, little)[0]}`] = ip;
}

/** Who listens on this port on an address that catches loopback connections (127.0.0.1, ::1 or a wildcard). */
export function listenersOn(port: number, source: TableSource = procFiles): Listener[] | undefined {
  const little = source.little ?? LITTLE;
  const found: Listener[] = [];
  let readAny = false;
  for (const [load, v6] of [
    [source.tcp, false],
    [source.tcp6, true],
  ] as const) {
    const text = load();
    if (text === undefined) continue;
    readAny = true;
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== LISTEN || !f[1]) continue;
      const [addr, p] = f[1].split(':');
      if (p !== portHex(port)) continue;
      const ip = CATCHES_LOOPBACK[`${v6 ? 6 : 4}${little ? 'L' : 'B'}${addr}`];
      if (ip !== undefined) found.push({ address: ip, uid: Number(f[7]) });
    }
  }
  return readAny ? found : undefined;
}
