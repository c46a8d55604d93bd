/**
 * One kept `connectNative` port to the host, as an explicit state machine:
 *
 *   closed(reason) ──open──▶ connecting ──hello answered, same protocol──▶ ready
 *        ▲                        │                                          │
 *        └── handshake failed, ───┘                                          │
 *            host outdated, host exited, host refused us, released ◀────────┘
 *
 * It opens when something holds it (an extension page, a running flow) or a request comes, and
 * closes itself when nothing holds it and no request is in flight (after a short grace, so the
 * popup → options hand-over or a reopened popup reuses it; a request that timed out here still
 * counts until its late answer, as Chrome kills a host soon after its port closes). Closing the port closes the host's
 * stdin, and the host exits once its answers are out. Every request has an id, a timeout and
 * the size caps of wire.ts; every answer is parsed with the shared schemas, and one for an
 * unknown id (a late answer after a timeout) is dropped. A host that exits or crashes fails
 * the requests in flight at once with Chrome's reason; the next request starts a new host.
 * Requests wait for the handshake, except `status` (BEHIND_HELLO).
 */
import browser, { type Runtime } from 'webextension-polyfill';
import { NATIVE_HOST_NAME, PROTOCOL_VERSION, responseSchema, type RequestType, type ResultOf } from '#shared/protocol/messages.js';
import { ExtError, HostError } from '../../shared/errors.js';
import { answerTooLarge, outgoing, readResult, timeoutError, timeoutFor, transportError, versionMismatch, type AnyHostRequest, type Outgoing } from './wire.js';

export type CloseReason =
  /** Not opened yet in this worker's life. */
  | 'never-opened'
  /** Nothing held it and nothing was in flight: closed on purpose. */
  | 'released'
  /** The host process ended (or Chrome could not start it): the error says what Chrome reported. */
  | 'host-exited'
  /** No valid answer to hello in time. */
  | 'handshake-failed'
  /** The host speaks another protocol version. */
  | 'host-outdated'
  /** The host answered without an id: it refused this extension, or could not read a frame. */
  | 'host-refused';

export type PortState =
  | { kind: 'closed'; reason: CloseReason; error?: Error }
  | { kind: 'connecting'; port: Runtime.Port }
  | { kind: 'ready'; port: Runtime.Port; hostVersion: string };

interface Pending {
  type: RequestType;
  port: Runtime.Port;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Requests sent right behind hello while the handshake runs, instead of after its answer: the
 * popup's first question saves a round trip to a host that is still starting. Only what changes
 * no profile or token, since a host of another protocol gets it before its version is known.
 * (`status` opens the host's store, which may create or migrate it: what any command of that
 * installed host does anyway.) Its timeout counts from when it is sent, the handshake included.
 */
const BEHIND_HELLO: ReadonlySet<RequestType> = new Set<RequestType>(['status']);

/** Long enough for the popup → options hand-over and a reopened popup; short enough to feel like "closes with the page". */
export const RELEASE_GRACE_MS = 1_000;

export interface NativePortOptions {
  releaseGraceMs?: number;
}

function idOf(raw: unknown): string | undefined {
  if (raw && typeof raw === 'object' && 'id' in raw) {
    const id = raw.id;
    if (typeof id === 'string') return id;
  }
  return undefined;
}

export class NativePort {
  private state: PortState = { kind: 'closed', reason: 'never-opened' };
  private handshake: Promise<Runtime.Port> | undefined;
  private readonly pending = new Map<string, Pending>();
  /**
   * Requests that timed out here while the host may still be working on them (a refresh waiting
   * for ANAF): the port is not released under them, since Chrome kills a host soon after its
   * port closes. Each is forgiven when its late answer comes, or after one more timeout.
   */
  private readonly owed = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly holders = new Set<string>();
  private releaseTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly releaseGraceMs: number;

  constructor(opts: NativePortOptions = {}) {
    this.releaseGraceMs = opts.releaseGraceMs ?? RELEASE_GRACE_MS;
  }

  get current(): PortState {
    return this.state;
  }

  /** Requests sent and not answered yet (hello included). */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Keeps the port open until the returned function is called; opens it now, so the host starts
   * while the page draws. A failure to open is kept as the closed state's reason: the next
   * request tries again and reports it.
   */
  hold(key: string): () => void {
    this.holders.add(key);
    this.cancelRelease();
    if (this.state.kind === 'closed') this.open().catch(() => undefined);
    return () => {
      if (this.holders.delete(key)) this.maybeRelease();
    };
  }

  get held(): boolean {
    return this.holders.size > 0;
  }

  /** Resolves once the current connection (opened if needed) passed the handshake: the host's version is in `current`. */
  async ready(): Promise<void> {
    await this.open();
  }

  async request<R extends AnyHostRequest>(req: R): Promise<ResultOf<R['type']>> {
    // Refused before the port is touched: a bad or oversize frame would end the host for everyone.
    const message = outgoing(req, crypto.randomUUID());
    this.cancelRelease();
    try {
      const opening = this.open();
      if (BEHIND_HELLO.has(req.type) && this.state.kind === 'connecting') {
        // Its answer counts only once hello proved the protocol; an outdated host fails it with hello's error.
        const answer = this.send(this.state.port, message);
        answer.catch(() => undefined);
        await opening;
        return (await answer) as ResultOf<R['type']>;
      }
      return (await this.send(await opening, message)) as ResultOf<R['type']>;
    } finally {
      this.maybeRelease();
    }
  }

  private open(): Promise<Runtime.Port> {
    if (this.state.kind === 'ready') return Promise.resolve(this.state.port);
    if (this.state.kind === 'connecting' && this.handshake) return this.handshake;
    let port: Runtime.Port;
    try {
      port = browser.runtime.connectNative(NATIVE_HOST_NAME);
    } catch (e) {
      const error = transportError(e instanceof Error ? e.message : String(e));
      this.state = { kind: 'closed', reason: 'host-exited', error };
      return Promise.reject(error);
    }
    this.state = { kind: 'connecting', port };
    port.onMessage.addListener((raw: unknown) => this.onMessage(port, raw));
    port.onDisconnect.addListener((p: Runtime.Port) => this.onDisconnect(port, p));
    const attempt = this.send(port, outgoing({ type: 'hello', protocol: PROTOCOL_VERSION }, crypto.randomUUID())).then(
      (r) => {
        const hello = r as ResultOf<'hello'>;
        if (!this.isCurrent(port)) throw this.closedError();
        if (hello.protocol !== PROTOCOL_VERSION) {
          const error = versionMismatch(hello.hostVersion);
          this.close(port, 'host-outdated', error);
          throw error;
        }
        this.state = { kind: 'ready', port, hostVersion: hello.hostVersion };
        return port;
      },
      (e: unknown) => {
        const error = e instanceof Error ? e : new ExtError('HOST_FAILED', [], 'hello');
        this.close(port, 'handshake-failed', error);
        throw error;
      },
    );
    this.handshake = attempt;
    attempt
      .finally(() => {
        if (this.handshake === attempt) this.handshake = undefined;
      })
      .catch(() => undefined);
    return attempt;
  }

  private send(port: Runtime.Port, message: Outgoing): Promise<unknown> {
    const { id, type } = message;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        const error = timeoutError(type);
        reject(error);
        // A host that cannot even answer hello is not used for anything else.
        if (type === 'hello') return this.close(port, 'handshake-failed', error);
        this.owed.set(
          id,
          setTimeout(() => {
            this.owed.delete(id);
            this.maybeRelease();
          }, timeoutFor(type)),
        );
      }, timeoutFor(type));
      this.pending.set(id, { type, port, resolve, reject, timer });
      try {
        port.postMessage(message);
      } catch (e) {
        // Chrome throws on a port that is already disconnected: the host is gone.
        this.close(port, 'host-exited', transportError(e instanceof Error ? e.message : String(e)));
      }
    });
  }

  private onMessage(port: Runtime.Port, raw: unknown): void {
    if (!this.isCurrent(port)) return;
    const id = idOf(raw);
    const entry = id === undefined ? undefined : this.pending.get(id);
    if (entry && entry.port !== port) return;
    if (answerTooLarge(raw)) {
      if (entry && id !== undefined) this.settle(id, entry, () => entry.reject(new ExtError('HOST_BAD_ANSWER', [], `${entry.type}: too large`)));
      else console.warn('anaf-token: an oversize native answer was dropped');
      return;
    }
    const res = responseSchema.safeParse(raw);
    if (!res.success) {
      if (entry && id !== undefined) this.settle(id, entry, () => entry.reject(new ExtError('HOST_BAD_ANSWER', [], entry.type)));
      else console.warn('anaf-token: a malformed native answer was dropped');
      return;
    }
    const answer = res.data;
    if (answer.id === null) {
      // Which request it was is unknowable: everything in flight fails with the host's reason.
      this.close(port, 'host-refused', answer.ok ? new ExtError('HOST_BAD_ANSWER', [], 'no id') : new HostError(answer.error));
      return;
    }
    if (!entry) {
      // A late answer after its timeout, or an id this extension never sent.
      console.warn('anaf-token: a native answer for no pending request was dropped');
      const owed = this.owed.get(answer.id);
      if (owed !== undefined) {
        clearTimeout(owed);
        this.owed.delete(answer.id);
        this.maybeRelease();
      }
      return;
    }
    this.settle(answer.id, entry, () => {
      try {
        entry.resolve(readResult(entry.type, answer));
      } catch (e) {
        entry.reject(e instanceof Error ? e : new ExtError('HOST_BAD_ANSWER', [], entry.type));
      }
    });
  }

  private settle(id: string, entry: Pending, finish: () => void): void {
    this.pending.delete(id);
    clearTimeout(entry.timer);
    finish();
    this.maybeRelease();
  }

  private onDisconnect(port: Runtime.Port, p: Runtime.Port): void {
    if (!this.isCurrent(port)) return;
    // Chrome gives the reason only here, as runtime.lastError (Firefox as port.error).
    const text = browser.runtime.lastError?.message ?? p.error?.message;
    this.close(port, 'host-exited', text ? transportError(text) : new ExtError('HOST_FAILED', [], 'the host closed the connection'));
  }

  private isCurrent(port: Runtime.Port): boolean {
    return this.state.kind !== 'closed' && this.state.port === port;
  }

  private closedError(): Error {
    return this.state.kind === 'closed' && this.state.error ? this.state.error : new ExtError('HOST_FAILED', [], 'the connection closed');
  }

  /** Ends the connection (if it is still the current one) and fails whatever is in flight on it. */
  private close(port: Runtime.Port, reason: CloseReason, error?: Error): void {
    if (!this.isCurrent(port)) return;
    this.state = error ? { kind: 'closed', reason, error } : { kind: 'closed', reason };
    this.cancelRelease();
    for (const timer of this.owed.values()) clearTimeout(timer);
    this.owed.clear();
    const failed = error ?? new ExtError('HOST_FAILED', [], 'the connection closed');
    for (const [id, entry] of this.pending) {
      if (entry.port !== port) continue;
      this.pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(failed);
    }
    try {
      port.disconnect();
    } catch {
      // Already disconnected by Chrome.
    }
  }

  private cancelRelease(): void {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
  }

  private maybeRelease(): void {
    if (this.holders.size || this.pending.size || this.owed.size || this.state.kind === 'closed' || this.releaseTimer) return;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = undefined;
      if (this.holders.size || this.pending.size || this.owed.size || this.state.kind === 'closed') return;
      this.close(this.state.port, 'released');
    }, this.releaseGraceMs);
  }
}
