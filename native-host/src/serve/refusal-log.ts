/**
 * Refused requests, summed up in the log: the first refusal after a quiet minute is written at
 * once (so a misconfigured ERP shows up while someone watches), the rest as one line per minute
 * with a count per reason. One line per refused request filled disks at gigabytes an hour under
 * a flood.
 */
import type { Logger } from '../log/logger.js';

export type RefusalReason =
  /** Host not ours (DNS rebinding). */
  | 'host'
  /** Origin, Sec-Fetch-* or Referer: a browser. */
  | 'web'
  | 'noCredentials'
  | 'bearer'
  | 'malformed'
  /** A nonce this process does not hold (expired, from before a restart, or made up). */
  | 'nonce'
  /** A client name the store does not know. */
  | 'client'
  /** A client whose key an older build kept as a hash only. */
  | 'oldKey'
  | 'proof'
  /** A connection from another OS user, closed unread. */
  | 'peer'
  /** Too many refusals waiting: the connection was closed. */
  | 'overload';

export class RefusalLog {
  private counts = new Map<RefusalReason, number>();
  private clients = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly everyMs = 60_000,
  ) {}

  note(reason: RefusalReason, client?: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    if (client !== undefined && (this.clients.has(client) || this.clients.size < 10)) this.clients.set(client, (this.clients.get(client) ?? 0) + 1);
    if (this.timer === undefined) {
      // Quiet until now: say so at once, then sum up for a minute.
      this.flush();
      this.schedule();
    }
  }

  /** Writes what was counted since the last line (nothing when nothing was). */
  flush(): void {
    if (this.counts.size === 0) return;
    const fields: Record<string, number | string> = {};
    let total = 0;
    for (const [reason, n] of this.counts) {
      fields[reason] = n;
      total += n;
    }
    if (this.clients.size) fields.clients = [...this.clients].map(([c, n]) => `${c}:${n}`).join(',');
    this.log.log('warn', 'serve.refused', { total, ...fields });
    this.counts = new Map();
    this.clients = new Map();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.counts.size === 0) return; // a quiet minute: the next refusal is written at once
      this.flush();
      this.schedule();
    }, this.everyMs);
    this.timer.unref();
  }
}
