/**
 * Who got which profile's token. An ERP may ask for every API call it makes; one line per
 * client and profile per minute (with how many hand-outs it stands for) keeps the trail
 * without filling the disk. Never the token itself.
 */
import type { Logger } from '../log/logger.js';

export class AccessLog {
  /** By client, then profile: no key string to build on the hot path. */
  private readonly last = new Map<string, Map<string, { at: number; unlogged: number }>>();

  constructor(
    private readonly log: Logger,
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  served(client: string, profile: string, via: 'token' | 'refresh'): void {
    const now = this.now();
    let byProfile = this.last.get(client);
    if (byProfile === undefined) this.last.set(client, (byProfile = new Map()));
    const prev = byProfile.get(profile);
    if (via === 'token' && prev && now - prev.at < this.everyMs) {
      prev.unlogged++;
      return;
    }
    this.log.log('info', 'serve.token-served', { client, profile, via, alsoServedSinceLastLine: prev?.unlogged || undefined });
    byProfile.set(profile, { at: now, unlogged: 0 });
  }
}
