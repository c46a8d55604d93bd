/**
 * The one owner of native messaging. Requests go over the kept port (native-port.ts), which is
 * open while an extension page or a flow holds it, and opened on demand for the background's
 * own calls (the daily check, the start-up badge) and closed once they are answered.
 *
 * One process per message (one-shot.ts) only for `pin.check`: the PIN would otherwise sit in a
 * long-lived host's memory until its garbage is collected; a process that ends with the answer
 * takes it along. A PIN check loads a token driver anyway, so the saved start-up is not felt.
 * The port's handshake still checks the host's version first.
 */
import type { RequestType, ResultOf } from '#shared/protocol/messages.js';
import { NativePort } from './native-port.js';
import { oneShot } from './one-shot.js';
import type { AnyHostRequest } from './wire.js';

const ONE_SHOT: ReadonlySet<RequestType> = new Set<RequestType>(['pin.check']);

export class NativeHost {
  constructor(readonly port = new NativePort()) {}

  async request<R extends AnyHostRequest>(req: R): Promise<ResultOf<R['type']>> {
    if (!ONE_SHOT.has(req.type)) return this.port.request(req);
    await this.port.ready();
    return oneShot(req);
  }

  /** Opens the port now (a page is about to hold it); it closes after the release grace if nothing does. */
  warmUp(): void {
    this.port.hold('warm-up')();
  }

  /** Keeps the port open until the returned function is called. */
  hold(key: string): () => void {
    return this.port.hold(key);
  }
}

export const host = new NativeHost();
