/**
 * What the Linux, Windows and macOS peer checks share: connections are looked up in batches (one
 * read of the socket table, or one scan of the processes, serves every connection asked about
 * before it started), and each connection's verdict is found once, when it is accepted, and kept.
 */
import type { Socket } from 'node:net';
import type { Endpoint } from './proc-net.js';
import type { PeerCheck, Verdict } from './peer.js';

export interface PeerLookup<R> {
  ours: Endpoint;
  theirs: Endpoint;
  /** Answered: a batch answers each lookup once; those it leaves get `undefined` at its end. */
  done: boolean;
  resolve: (found: R | undefined) => void;
}

/** Answers a lookup (once); `undefined` is an answer too (e.g. a socket in TIME_WAIT has no uid). */
export function answer<R>(l: PeerLookup<R>, found: R | undefined): void {
  l.done = true;
  l.resolve(found);
}

/**
 * Runs lookups in batches: the lookups asked for while a batch runs wait for the next one, which
 * starts when it ends, so every socket that existed when they asked is in it (a peer socket is in
 * the table from its handshake on, before serve accepts it). `nextTurn` waits one turn of the
 * event loop before a batch, for a synchronous scan (which nothing can join while it runs).
 */
export class LookupBatcher<R> {
  private pending: PeerLookup<R>[] = [];
  private running = false;

  constructor(
    private readonly runBatch: (batch: PeerLookup<R>[]) => Promise<void> | void,
    private readonly nextTurn = false,
  ) {}

  lookup(ours: Endpoint, theirs: Endpoint): Promise<R | undefined> {
    return new Promise((resolve) => {
      this.pending.push({ ours, theirs, done: false, resolve });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running || this.pending.length === 0) return;
    this.running = true;
    if (this.nextTurn) setImmediate(() => this.start());
    else this.start();
  }

  private start(): void {
    const batch = this.pending.splice(0);
    // A failed read leaves the batch's lookups unanswered (run's finally): their connections are
    // closed, and serve goes on.
    void this.run(batch)
      .catch(() => undefined)
      .finally(() => {
        this.running = false;
        this.kick();
      });
  }

  private async run(batch: PeerLookup<R>[]): Promise<void> {
    try {
      await this.runBatch(batch);
    } finally {
      for (const l of batch) if (!l.done) l.resolve(undefined);
    }
  }
}

/**
 * `accepted` and `verdict` of a PeerCheck: `decide` runs once per connection (from its accept,
 * or from the first request if the accept was missed) and its answer is kept for the connection.
 * A socket without both ends' addresses (already closed) is refused.
 */
export function verdictPerSocket(decide: (ours: Endpoint, theirs: Endpoint, socket: Socket) => Promise<boolean>): Pick<PeerCheck, 'accepted' | 'verdict'> {
  const verdicts = new WeakMap<Socket, Verdict>();
  const start = (socket: Socket): Verdict => {
    const { localAddress, localPort, remoteAddress, remotePort } = socket;
    if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) return false;
    const p = decide({ address: localAddress, port: localPort }, { address: remoteAddress, port: remotePort }, socket)
      // A check that fails says no: the connection is closed, never served unchecked.
      .catch(() => false)
      .then((ok) => {
        verdicts.set(socket, ok);
        return ok;
      });
    verdicts.set(socket, p);
    return p;
  };
  return {
    accepted(socket) {
      if (!verdicts.has(socket)) void start(socket);
    },
    verdict(socket) {
      return verdicts.get(socket) ?? start(socket);
    },
  };
}
