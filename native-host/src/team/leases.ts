/**
 * Leases: one refresh per grant across every process and machine that uses the team store.
 *
 * A lease is a session-level advisory lock (pg_try_advisory_lock, key from advisory-key.ts) taken
 * on a connection of its own and held until releaseLease. The lock lives exactly as long as that
 * connection: a refresher killed with kill -9 closes its socket, PostgreSQL ends the session and
 * the lock with it, and the next machine takes the lease at once instead of after a timeout. A
 * machine that vanishes without closing (power cut, network) is noticed by the server's TCP
 * keepalives (pg-pool.ts), within about half a minute.
 *
 * The lease's ttl is kept by its holder: past it, the holder's connection is closed (the lease
 * ends as a vault lease expires), so a holder stuck in a slow call does not keep it for ever.
 *
 * leaseActive sees any session's lock through pg_locks; a waiter that polls tryAcquireLease looks
 * there first, so polling costs one query on the pool, not a new connection each time.
 */
import pg from 'pg';
import { advisoryKey, type AdvisoryKey } from './advisory-key.js';
import { clientConfig, run, storeError, type ConnectionOptions } from './pg-pool.js';

interface Held {
  owner: string;
  client: pg.Client;
  expiry: NodeJS.Timeout | undefined;
}

const LOCK_HELD_SQL = `SELECT 1 FROM pg_locks
  WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid = $1::oid AND objid = $2::oid
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  LIMIT 1`;

export class Leases {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly conn: ConnectionOptions,
    private readonly pool: pg.Pool,
  ) {}

  async tryAcquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const mine = this.held.get(name);
    if (mine) {
      if (mine.owner !== owner) return false;
      this.arm(name, mine, ttlMs); // the same owner again: renewed
      return true;
    }
    const k = advisoryKey(name);
    if (await this.lockedAnywhere(k)) return false;
    const client = new pg.Client(clientConfig(this.conn, 'anaf-token lease'));
    client.on('error', () => this.lost(name, client));
    client.on('end', () => this.lost(name, client));
    try {
      await client.connect();
      const r = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [k.key]);
      if (r.rows[0]?.got !== true || this.held.has(name)) {
        await client.end().catch(() => {});
        return false;
      }
    } catch (e) {
      client.end().catch(() => {});
      throw storeError(e);
    }
    const held: Held = { owner, client, expiry: undefined };
    this.held.set(name, held);
    this.arm(name, held, ttlMs);
    return true;
  }

  async release(name: string, owner: string): Promise<void> {
    const h = this.held.get(name);
    if (!h || h.owner !== owner) return;
    await this.drop(name, h);
  }

  async active(name: string): Promise<boolean> {
    if (this.held.has(name)) return true;
    return this.lockedAnywhere(advisoryKey(name));
  }

  async close(): Promise<void> {
    await Promise.all([...this.held].map(([name, h]) => this.drop(name, h)));
  }

  private async lockedAnywhere(k: AdvisoryKey): Promise<boolean> {
    return (await run(this.pool, LOCK_HELD_SQL, [k.classid, k.objid])).rowCount! > 0;
  }

  private arm(name: string, h: Held, ttlMs: number): void {
    clearTimeout(h.expiry);
    h.expiry = setTimeout(() => void this.drop(name, h), ttlMs).unref();
  }

  /** Unlocks before closing: a waiter must not see the lock a moment after release returned. */
  private async drop(name: string, h: Held): Promise<void> {
    if (this.held.get(name) === h) this.held.delete(name);
    clearTimeout(h.expiry);
    await h.client.query('SELECT pg_advisory_unlock_all()').catch(() => {});
    await h.client.end().catch(() => {});
  }

  /** Its connection broke: the server has ended the session, and the lock with it. */
  private lost(name: string, c: pg.Client): void {
    const h = this.held.get(name);
    if (h?.client !== c) return;
    this.held.delete(name);
    clearTimeout(h.expiry);
  }
}
