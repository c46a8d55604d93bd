/**
 * Who is at the other end of a connection. On a terminal server every user shares 127.0.0.1, so
 * a loopback connection may come from another user's program. On Linux the socket table
 * (/proc/net/tcp{,6}) says which user made the peer socket, and a connection from anyone but
 * the user running `serve` is closed without an answer: no nonce, no token, not even /healthz.
 *
 * The check runs once per connection: it starts when the connection is accepted, and its first
 * request waits for it (a kept connection's later requests do not). Reading the table costs the
 * kernel a walk of its whole TCP hash (about 5 ms on a small VM, whatever the number of
 * sockets), so it is read off the main thread, and one read serves every connection accepted
 * before it started: a burst of new connections costs a few reads, not one each.
 *
 * Elsewhere (macOS, Windows without native code) there is no way to ask yet; there the proof of
 * the client key (client-keys.ts) is what keeps another user out.
 */
import fs from 'node:fs/promises';
import type { Socket } from 'node:net';
import { PROC_TCP, PROC_TCP6, findPeerUid, peerFiles, type Endpoint } from './proc-net.js';

export type Verdict = boolean | Promise<boolean>;

export interface PeerCheck {
  /** 'uid': connections are matched to the peer's user; 'none': this platform cannot tell. */
  readonly kind: 'uid' | 'none';
  /** Starts the check of a new connection. */
  accepted(socket: Socket): void;
  /** Whether the connection's peer is our user: at once when known, else when the table has been read. */
  verdict(socket: Socket): Verdict;
}

/** One read of each table file, started only when asked for and never before the snapshot was. */
class Snapshot {
  private readonly files = new Map<'tcp' | 'tcp6', Promise<string | undefined>>();
  constructor(private readonly read: (file: string) => Promise<string | undefined>) {}
  file(name: 'tcp' | 'tcp6'): Promise<string | undefined> {
    let p = this.files.get(name);
    if (p === undefined) this.files.set(name, (p = this.read(name === 'tcp' ? PROC_TCP : PROC_TCP6)));
    return p;
  }
}

/**
 * Snapshots of the socket table taken after a given moment. While one is being read, those who
 * ask share the next one, which starts when it ends: every socket that existed when they asked is
 * in it.
 */
export class TableReader {
  private running: Promise<Snapshot> | undefined;
  private queued: Promise<Snapshot> | undefined;
  reads = 0;

  constructor(private readonly readFile: (file: string) => Promise<string | undefined> = readProc) {}

  after(): Promise<Snapshot> {
    if (this.running === undefined) return this.start();
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  private start(): Promise<Snapshot> {
    this.reads++;
    const snapshot = new Snapshot(this.readFile);
    // The snapshot is "done" when its first file is read; a second file (rarely needed) is read on demand.
    const p = snapshot.file('tcp').then(() => snapshot);
    this.running = p;
    void p.then(() => {
      if (this.running === p) this.running = undefined;
    });
    return p;
  }
}

async function readProc(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'latin1');
  } catch {
    return undefined;
  }
}

async function peerUidOf(reader: TableReader, ours: Endpoint, theirs: Endpoint): Promise<number | undefined> {
  const snapshot = await reader.after();
  for (const file of peerFiles(theirs)) {
    const text = await snapshot.file(file);
    if (text === undefined) continue;
    const uid = findPeerUid(text, file === 'tcp6', ours, theirs);
    if (uid !== undefined) return uid;
  }
  return undefined;
}

export interface PeerCheckOptions {
  platform?: NodeJS.Platform;
  /** The user whose connections are served (this process's). */
  uid?: number | undefined;
  reader?: TableReader;
}

export function peerCheck(o: PeerCheckOptions = {}): PeerCheck {
  const platform = o.platform ?? process.platform;
  const uid = 'uid' in o ? o.uid : process.getuid?.();
  if (platform !== 'linux' || uid === undefined) return { kind: 'none', accepted: () => undefined, verdict: () => true };
  const reader = o.reader ?? new TableReader();
  const verdicts = new WeakMap<Socket, Verdict>();
  const start = (socket: Socket): Verdict => {
    const { localAddress, localPort, remoteAddress, remotePort } = socket;
    if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) return false;
    const p = peerUidOf(reader, { address: localAddress, port: localPort }, { address: remoteAddress, port: remotePort }).then(
      // No entry (the peer already left, or the table cannot be read) is not our user either.
      (peer) => {
        const ok = peer === uid;
        verdicts.set(socket, ok);
        return ok;
      },
      () => {
        verdicts.set(socket, false);
        return false;
      },
    );
    verdicts.set(socket, p);
    return p;
  };
  return {
    kind: 'uid',
    accepted(socket) {
      if (!verdicts.has(socket)) start(socket);
    },
    verdict(socket) {
      return verdicts.get(socket) ?? start(socket);
    },
  };
}
