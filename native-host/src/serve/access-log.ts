/**
 * Who got which profile's token. An ERP may ask for every API call it makes; one line per
 * client and profile per minute (with how many hand-outs it stands for) keeps the trail
 * without filling the disk. Never the token itself.
 */
import type { Logger } from '../log/logger.js';

export class AccessLog {
  private readonly last = new Map<string, { at: number; unlogged: number }>();

  constructor(
    private readonly log: Logger,
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  served(client: string, profile: string, via: 'token' | 'refresh'): void {
    const key = `${client}\u0000${profile}`;
    const now = this.now();
    const prev = this.last.get(key);
    if (via === 'token' && prev && now - prev.at < this.everyMs) {
      prev.unlogged++;
      return;
    }
    this.log.log('info', 'serve.token-served', { client, profile, via, alsoServedSinceLastLine: prev?.unlogged || undefined });
    this.last.set(key, { at: now, unlogged: 0 });
  }
}
