/**
 * How a team store learns that another process (on this machine or another) changed what it may
 * have cached: every such write sends a NOTIFY in its own transaction (team-store.ts), and this
 * feed LISTENs on one dedicated connection and counts them. The count is the store's read epoch.
 *
 * While the listening connection is down, nothing heard means nothing: the epoch then changes on
 * every read of it, so no cache keyed to it holds. The feed reconnects by itself (backoff up to
 * a few seconds) and bumps the epoch once it listens again. A heartbeat notices a connection
 * that died silently (a cut network) within seconds.
 */
import pg from 'pg';
import { clientConfig, type ConnectionOptions } from './pg-pool.js';

export const CHANGES_CHANNEL = 'anaf_token_changes';
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 3_000;
const HEARTBEAT_MS = 5_000;

export class ChangeFeed {
  private client: pg.Client | undefined;
  private listening = false;
  private epoch = 0;
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Notifications heard since the start (diagnostics, tests). */
  heard = 0;

  constructor(private readonly conn: ConnectionOptions) {}

  /** Listens before it resolves when the server answers; otherwise keeps trying in the background. */
  async start(): Promise<void> {
    await this.connect();
  }

  get up(): boolean {
    return this.listening;
  }

  /** The read epoch: notifications heard (plus local changes); while not listening, new on every call. */
  read(): number {
    if (!this.listening) this.epoch++;
    return this.epoch;
  }

  /** The epoch as it stands, without the bump a read gets while not listening. */
  peek(): number {
    return this.epoch;
  }

  /** This process changed something: its own caches drop at once, before its NOTIFY comes back. */
  bump(): void {
    this.epoch++;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const c = new pg.Client({ ...clientConfig(this.conn, 'anaf-token listen'), query_timeout: HEARTBEAT_MS });
    c.on('error', () => this.lost(c));
    c.on('end', () => this.lost(c));
    c.on('notification', (n) => {
      if (n.channel !== CHANGES_CHANNEL) return;
      this.heard++;
      this.epoch++;
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch {
      c.end().catch(() => {});
      this.retryLater();
      return;
    }
    if (this.closed) {
      await c.end().catch(() => {});
      return;
    }
    this.client = c;
    this.listening = true;
    this.epoch++; // whatever happened while not listening was not heard
    this.retryMs = RETRY_MIN_MS;
    this.heartbeat = setInterval(() => {
      c.query('SELECT 1').catch(() => this.lost(c));
    }, HEARTBEAT_MS).unref();
  }

  private lost(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = undefined;
    this.listening = false;
    this.epoch++;
    clearInterval(this.heartbeat);
    c.end().catch(() => {});
    this.retryLater();
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.retryMs).unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }
}
