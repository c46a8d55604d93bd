/**
 * Who is at the other end of a connection. On a terminal server every user shares 127.0.0.1, so
 * a loopback connection may come from another user's program. On Linux the socket table
 * (/proc/net/tcp{,6}) says which user made the peer socket, and a connection from anyone but
 * the user running `serve` is closed without an answer: no nonce, no token, not even /healthz.
 *
 * The check runs once per connection: it starts when the connection is accepted, its first
 * request waits for it (a kept connection's later requests do not), and a connection of another
 * user is closed as soon as that is known. Reading the table makes the
 * kernel walk its whole TCP hash (a few ms on a small VM, more with many sockets, such as the
 * TIME_WAIT ones a client that reconnects for every request leaves behind for a minute). So the
 * table is read off the main thread, 64 KiB at a time and only until every connection waiting
 * for it is found, and one read serves all the connections accepted before it started: a burst
 * of new connections costs a few reads, not one each.
 *
 * Windows asks the same of its TCP table and the peer process's token (peer-windows.ts), macOS of
 * libproc (peer-macos.ts), both through koffi. Where that cannot be loaded (or, on macOS, its
 * answers do not look right) there is no way to ask; there the proof of the client key
 * (client-keys.ts) is what keeps another user out, as everywhere.
 */
import fs from 'node:fs/promises';
import type { Socket } from 'node:net';
import { PROC_TCP, PROC_TCP6, peerNeedles, uidAt, type Endpoint } from './proc-net.js';
import { win32PeerSource, windowsPeerCheck, type WindowsPeerSource } from './peer-windows.js';
import { win32Sockets } from './win32-ffi.js';
import { darwinProcSource } from './darwin-ffi.js';
import { macPeerCheck, type MacProcSource } from './peer-macos.js';
import { LookupBatcher, answer, verdictPerSocket, type PeerLookup } from './peer-batch.js';

export type Verdict = boolean | Promise<boolean>;

export interface PeerCheck {
  /**
   * 'uid': connections are matched to the peer socket's user (Linux); 'sid': to the peer process's
   * user SID (Windows); 'process-uid': to the user of a process holding the peer socket (macOS);
   * 'none': this platform cannot tell.
   */
  readonly kind: 'uid' | 'sid' | 'process-uid' | 'none';
  /** Where a check was expected but cannot be made: why (for the log). */
  readonly unavailable?: string;
  /** Starts the check of a new connection (serve closes it when the answer is no). */
  accepted(socket: Socket): void;
  /** Whether the connection's peer is our user: at once when known, else when the table has been read. */
  verdict(socket: Socket): Verdict;
}

/**
 * Reads a table file and calls `found` for each needle seen (with its uid, or undefined for a
 * socket in TIME_WAIT); stops as soon as `found` says nothing more is wanted.
 */
export type TableScan = (file: string, needles: readonly string[], found: (needle: string, uid: number | undefined) => boolean) => Promise<void>;

const CHUNK = 65_536;
/** Room for the partial line a chunk ends with (a line of tcp6 is about 180 bytes). */
const CARRY = 4_096;
const NL = 0x0a;

/**
 * /proc is generated as it is read: a fixed buffer, searched as bytes (no text is made of it but
 * the lines found), and no more of it than needed.
 */
export const scanProcFile: TableScan = async (file, needles, found) => {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch {
    return;
  }
  try {
    const buf = Buffer.allocUnsafe(CARRY + CHUNK);
    const left = new Map(needles.map((n) => [n, Buffer.from(n, 'latin1')]));
    let carried = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, carried, CHUNK, null);
      const total = carried + bytesRead;
      // Whole lines only: a line cut by the chunk's end is searched with the next chunk.
      const end = bytesRead === 0 ? total : buf.lastIndexOf(NL, total - 1) + 1;
      for (const [needle, bytes] of left) {
        const at = buf.subarray(0, end).indexOf(bytes);
        if (at < 0) continue;
        const start = buf.lastIndexOf(NL, at) + 1;
        const stop = buf.indexOf(NL, at);
        const line = buf.toString('latin1', start, stop < 0 || stop > end ? end : stop);
        left.delete(needle);
        if (found(needle, uidAt(line, needle) ?? undefined)) return;
      }
      if (bytesRead === 0 || left.size === 0) return;
      carried = total - end;
      if (carried > CARRY) return; // no line is this long: not a socket table
      buf.copy(buf, 0, end, total);
    }
  } catch {
    /* a table that cannot be read names nobody */
  } finally {
    await fh.close();
  }
};

/**
 * Looks up peers' uids in the socket table, in batches (peer-batch.ts): the lookups asked for
 * while a scan runs wait for the next one, so every socket that existed when they asked is in it.
 */
export class TableScanner {
  private readonly batcher = new LookupBatcher<number>((batch) => this.run(batch));
  /** File scans made, for tests and the benchmark. */
  scans = 0;

  constructor(
    private readonly scan: TableScan = scanProcFile,
    private readonly little?: boolean,
  ) {}

  lookup(ours: Endpoint, theirs: Endpoint): Promise<number | undefined> {
    return this.batcher.lookup(ours, theirs);
  }

  private async run(batch: PeerLookup<number>[]): Promise<void> {
    // IPv4 peers are in tcp, unless their socket is dual-stack (then tcp6, as IPv6 peers are).
    for (const [file, v6] of [
      [PROC_TCP, false],
      [PROC_TCP6, true],
    ] as const) {
      const byNeedle = new Map<string, PeerLookup<number>>();
      for (const l of batch) if (!l.done) for (const n of peerNeedles(v6, l.ours, l.theirs, this.little)) byNeedle.set(n, l);
      if (byNeedle.size === 0) continue;
      this.scans++;
      let left = new Set(byNeedle.values()).size;
      await this.scan(file, [...byNeedle.keys()], (needle, uid) => {
        const l = byNeedle.get(needle);
        if (l && !l.done) {
          answer(l, uid);
          left--;
        }
        return left === 0;
      });
    }
  }
}

export interface PeerCheckOptions {
  platform?: NodeJS.Platform;
  /** The user whose connections are served (this process's). */
  uid?: number | undefined;
  scanner?: TableScanner;
  /** Windows: where the tables and tokens come from (the real calls unless a test gives its own). */
  windows?: () => WindowsPeerSource;
  /** macOS: where the processes and their sockets come from. */
  mac?: () => MacProcSource;
}

const NONE: PeerCheck = { kind: 'none', accepted: () => undefined, verdict: () => true };

/**
 * Windows' check. When its calls cannot be loaded or our own token cannot be read (koffi.node
 * missing or blocked), it fails closed: every connection is closed unanswered, and serve logs
 * why. A terminal server is Windows' normal place for an ERP, and the build ships koffi, so an
 * unchecked serve would be a fault, not a platform limit.
 */
function windowsCheck(source: (() => WindowsPeerSource) | undefined): PeerCheck {
  try {
    return windowsPeerCheck(source ? source() : win32PeerSource(win32Sockets()));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return {
      kind: 'sid',
      accepted: () => undefined,
      verdict: () => false,
      unavailable: `every connection is closed: the Windows socket and token calls could not be loaded: ${why}`,
    };
  }
}

/** macOS's check, or 'none' with the reason when libproc cannot be loaded. */
function macCheck(source: (() => MacProcSource) | undefined, uid: number | undefined): PeerCheck {
  if (uid === undefined) return NONE;
  try {
    return macPeerCheck(source ? source() : darwinProcSource(), uid);
  } catch (e) {
    return { ...NONE, unavailable: `libproc could not be loaded: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export function peerCheck(o: PeerCheckOptions = {}): PeerCheck {
  const platform = o.platform ?? process.platform;
  if (platform === 'win32') return windowsCheck(o.windows);
  if (platform === 'darwin') return macCheck(o.mac, 'uid' in o ? o.uid : process.geteuid?.());
  const uid = 'uid' in o ? o.uid : process.getuid?.();
  if (platform !== 'linux' || uid === undefined) return NONE;
  const scanner = o.scanner ?? new TableScanner();
  // No entry (the peer already left, or the table cannot be read) is not our user either.
  return { kind: 'uid', ...verdictPerSocket(async (ours, theirs) => (await scanner.lookup(ours, theirs)) === uid) };
}
