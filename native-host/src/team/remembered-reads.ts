/**
 * The reads the token service repeats on every request, kept in this process's memory (never on
 * disk) for two reasons:
 *  - speed: an answer is reused while the change feed has heard nothing since it was read
 *    (the same epoch, and the feed listening), as the vault reuses its reads;
 *  - outages: while PostgreSQL cannot be reached, the last answer this process got stands in for a
 *    fresh one, so a still-valid token keeps being served. Writes are never answered this way.
 */
import { AppError } from '#shared/errors.js';
import type { ChangeFeed } from './change-feed.js';

export class RememberedReads {
  private readonly answers = new Map<string, { epoch: number; value: unknown }>();

  constructor(private readonly feed: ChangeFeed) {}

  async read<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.answers.get(key);
    const epoch = this.feed.peek(); // before the load: a change heard meanwhile makes this answer stale
    if (hit !== undefined && this.feed.up && hit.epoch === epoch) return hit.value as T;
    try {
      const value = await load();
      this.answers.set(key, { epoch, value });
      return value;
    } catch (e) {
      if (hit !== undefined && e instanceof AppError && e.code === 'STORE_UNAVAILABLE') return hit.value as T;
      throw e;
    }
  }

  /** What the process knew is forgotten (closing). */
  clear(): void {
    this.answers.clear();
  }
}
