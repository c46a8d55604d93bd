/** The ERP clients of the token service: each key sealed to the client's name and rights. */
import { AppError } from '#shared/errors.js';
import { registerSecret } from '../log/logger.js';
import type { ApiClientKey, ApiClientOptions, ApiClientRecord } from '../store/records.js';
import { apiClientAad, legacyApiClientAad } from './aad.js';
import type { VaultCore } from './core.js';
import { open, seal } from './crypto.js';
import { asBuffer } from './sqlite.js';

type ApiClientRow = {
  name: string;
  /** JSON array of profile names; NULL: every profile. */
  profiles: string | null;
  /** node:sqlite gives BLOBs as Uint8Array; asBuffer() views them as Buffers. */
  key_sealed: Uint8Array | null;
  created_at: number;
  last_used_at: number | null;
  personal_id: number;
};

function parseScope(text: string | null): string[] | undefined {
  if (text === null) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* a damaged scope grants nothing */
  }
  return [];
}

/**
 * Adds a client with its key, sealed with the vault key. A row of the same name that an older
 * build made (hash only, unusable now) is replaced; any other row of that name is kept
 * (CLIENT_EXISTS).
 */
export function addApiClient(v: VaultCore, name: string, key: string, opts: ApiClientOptions = {}): ApiClientRecord & { replacedOldKey: boolean } {
  const now = v.now();
  const personalId = opts.personalId === true;
  const profiles = opts.profiles && [...new Set(opts.profiles)].sort();
  const sealed = seal(v.sealingKey(), key, apiClientAad(name, personalId, profiles));
  const replacedOldKey = v.transaction(() => {
    const existing = v.sql('SELECT key_sealed IS NULL AS old FROM api_clients WHERE name = ?').get(name) as { old: number } | undefined;
    if (existing && existing.old !== 1) throw new AppError('CLIENT_EXISTS', name);
    // key_hash stays empty: a build that still compares SHA-256 hashes matches nothing here.
    v.sql(
      'INSERT OR REPLACE INTO api_clients (name, key_hash, key_sealed, created_at, last_used_at, personal_id, profiles) VALUES (?, ?, ?, ?, NULL, ?, ?)',
    ).run(name, Buffer.alloc(0), sealed, now, personalId ? 1 : 0, profiles ? JSON.stringify(profiles) : null);
    return existing !== undefined;
  });
  return { name, createdAt: now, lastUsedAt: undefined, personalId, profiles, oldKey: false, replacedOldKey };
}

export function listApiClients(v: VaultCore): ApiClientRecord[] {
  const rows = v.sql('SELECT name, created_at, last_used_at, personal_id, profiles, key_sealed IS NULL AS old FROM api_clients ORDER BY name').all() as (Omit<
    ApiClientRow,
    'key_sealed'
  > & { old: number })[];
  return rows.map((r) => ({
    name: r.name,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at ?? undefined,
    personalId: r.personal_id === 1,
    profiles: parseScope(r.profiles),
    oldKey: r.old === 1,
  }));
}

/**
 * One client's key, opened, for the token service to check a proof; undefined when there is no
 * such client. Cached until the vault changes. A key that does not open is reported, not
 * thrown: a row planted without the vault key must only fail its own requests. (A vault key
 * that opens nothing at all still throws VAULT_LOCKED.)
 */
export function apiClientKey(v: VaultCore, name: string): ApiClientKey | undefined {
  return v.cached(`api-client:${name}`, () => {
    const r = v.sql('SELECT name, key_sealed, created_at, last_used_at, personal_id, profiles FROM api_clients WHERE name = ?').get(name) as
      ApiClientRow | undefined;
    if (!r) return undefined;
    const personalId = r.personal_id === 1;
    const profiles = parseScope(r.profiles);
    const base = { name: r.name, lastUsedAt: r.last_used_at ?? undefined, personalId, profiles };
    if (r.key_sealed === null) return { ...base, state: 'old', key: undefined } satisfies ApiClientKey;
    const vaultKey = v.sealingKey();
    const sealed = asBuffer(r.key_sealed);
    const opened = (aad: string): string | undefined => {
      try {
        return open(vaultKey, sealed, aad);
      } catch {
        return undefined;
      }
    };
    const key = opened(apiClientAad(r.name, personalId, profiles)) ?? (profiles === undefined ? opened(legacyApiClientAad(r.name)) : undefined);
    if (key === undefined) return { ...base, state: 'unreadable', key: undefined } satisfies ApiClientKey;
    registerSecret(key);
    return { ...base, state: 'ok', key: Buffer.from(key, 'utf8') } satisfies ApiClientKey;
  });
}

export function removeApiClient(v: VaultCore, name: string): boolean {
  return v.sql('DELETE FROM api_clients WHERE name = ?').run(name).changes > 0;
}

export function touchApiClient(v: VaultCore, name: string, at = v.now()): void {
  v.sql('UPDATE api_clients SET last_used_at = ? WHERE name = ?').run(at, name);
}
