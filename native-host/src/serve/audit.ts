/**
 * Who got which profile's token. Two trails: the log, one line per client and profile per minute
 * (with how many hand-outs it stands for), and the store's audit table, one row the first time a
 * client gets each generation of a profile's token here, and one per minute for a client refused
 * a profile outside its scope. An ERP may ask for every API call it makes: neither trail grows
 * with that. Never the token itself.
 */
import os from 'node:os';
import type { Logger } from '../log/logger.js';
import type { AuditEntry } from '../store/records.js';
import type { Store } from '../store/store.js';

/** Rows waiting for a store that could not be written (the team store's database down). */
const MAX_PENDING = 10_000;

/** What this process last did for a client and profile. */
interface Mark {
  at: number;
  unlogged: number;
  generation: number;
  refusedAt: number;
}

export class Audit {
  /** By client, then profile: no key string to build on the hot path. */
  private readonly last = new Map<string, Map<string, Mark>>();
  private readonly pending: AuditEntry[] = [];
  private writing: Promise<void> | undefined;
  private readonly host = os.hostname();
  private readonly osUser = safeUser();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  served(client: string, profile: string, generation: number, via: 'token' | 'refresh'): void {
    const now = this.now();
    const prev = this.entry(client, profile);
    if (prev.generation !== generation) {
      prev.generation = generation;
      this.record({ at: now, profile, client, generation, host: this.host, osUser: this.osUser, action: 'token' });
    }
    if (via === 'token' && now - prev.at < this.everyMs) {
      prev.unlogged++;
      return;
    }
    this.log.log('info', 'serve.token-served', { client, profile, via, generation, alsoServedSinceLastLine: prev.unlogged || undefined });
    prev.at = now;
    prev.unlogged = 0;
  }

  refused(client: string, profile: string): void {
    const now = this.now();
    const prev = this.entry(client, profile);
    if (now - prev.refusedAt < this.everyMs) return;
    prev.refusedAt = now;
    this.log.log('warn', 'serve.profile-not-allowed', { client, profile });
    this.record({ at: now, profile, client, generation: 0, host: this.host, osUser: this.osUser, action: 'refused' });
  }

  /** Resolves when every row so far is written (or given up on): for tests and shutdown. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private entry(client: string, profile: string) {
    let byProfile = this.last.get(client);
    if (byProfile === undefined) this.last.set(client, (byProfile = new Map<string, Mark>()));
    let e = byProfile.get(profile);
    if (e === undefined) byProfile.set(profile, (e = { at: -Infinity, unlogged: 0, generation: -1, refusedAt: -Infinity }));
    return e;
  }

  /** Written in the background, in order; a store that cannot be written keeps them for the next try. */
  private record(e: AuditEntry): void {
    if (this.pending.length >= MAX_PENDING) {
      this.pending.shift();
      this.log.log('warn', 'audit.dropped', { reason: 'the store could not be written for too long' });
    }
    this.pending.push(e);
    this.writing ??= this.drain().finally(() => (this.writing = undefined));
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      try {
        await this.store.recordAudit(this.pending[0]!);
        this.pending.shift();
      } catch (e) {
        this.log.log('warn', 'audit.not-written', { pending: this.pending.length, error: e instanceof Error ? e.name : 'unknown' });
        return; // tried again with the next row recorded
      }
    }
  }
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
