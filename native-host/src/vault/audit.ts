/** The audit table: who got which generation of which profile's token, when, from which machine and OS user. */
import type { AuditEntry, AuditQuery } from '../store/records.js';
import type { VaultCore } from './core.js';

export function recordAudit(v: VaultCore, e: AuditEntry): void {
  v.sql('INSERT INTO audit (at, profile, client, generation, host, os_user, action) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    e.at,
    e.profile,
    e.client,
    e.generation,
    e.host,
    e.osUser,
    e.action,
  );
}

export function audit(v: VaultCore, q: AuditQuery): AuditEntry[] {
  const rows = v
    .sql(
      `SELECT at, profile, client, generation, host, os_user, action FROM audit
     WHERE (?1 IS NULL OR profile = ?1) AND (?2 IS NULL OR client = ?2) AND at >= ?3
     ORDER BY at DESC, id DESC LIMIT ?4`,
    )
    .all(q.profile ?? null, q.client ?? null, q.since ?? 0, q.limit) as {
    at: number;
    profile: string;
    client: string;
    generation: number;
    host: string;
    os_user: string;
    action: string;
  }[];
  return rows.map((r) => ({
    at: r.at,
    profile: r.profile,
    client: r.client,
    generation: r.generation,
    host: r.host,
    osUser: r.os_user,
    action: r.action === 'refused' ? 'refused' : 'token',
  }));
}
