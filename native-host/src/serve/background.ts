/**
 * The background loop of `serve`: at start and then every interval, refresh the tokens that
 * entered their window. A profile whose refresh failed is retried when its backoff ends
 * (sooner than the next regular check), so a short ANAF outage heals without waiting an hour.
 */
import type { Logger } from '../log/logger.js';
import type { Backoff } from './backoff.js';
import type { TokenSource } from './token-source.js';

export interface BackgroundOptions {
  intervalMs: number;
  log: Logger;
  now?: () => number;
}

/** Never wake more often than this, whatever the backoff says. */
const MIN_SLEEP_MS = 50;

export class BackgroundRefresher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly source: TokenSource,
    private readonly backoff: Backoff,
    private readonly opts: BackgroundOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => (this.running = undefined));
    }, delayMs);
  }

  private async tick(): Promise<void> {
    try {
      const outcomes = await this.source.refreshDue();
      for (const [profile, outcome] of outcomes) {
        // Another instance's work (busy, refreshed there) and retries not due yet are not this one's to report.
        if (outcome === 'refreshed' || outcome === 'failed' || outcome === 'dead') {
          this.opts.log.log(outcome === 'refreshed' ? 'info' : 'warn', 'serve.background', { profile, outcome });
        }
      }
    } catch (e) {
      // A vault that is busy or briefly unreadable must not end the loop.
      this.opts.log.log('error', 'serve.background-error', {
        error: e instanceof Error ? e.name : 'unknown',
        message: e instanceof Error ? e.message : undefined,
      });
    }
    const now = this.now();
    const retry = this.backoff.nextAttemptAfter(now);
    const next = Math.min(now + this.opts.intervalMs, retry ?? Infinity);
    this.schedule(Math.max(MIN_SLEEP_MS, next - now));
  }
}
