/**
 * Last known token statuses in IndexedDB, so the popup draws at once and then corrects itself
 * from the host (the source of truth). Statuses never contain a token or a secret.
 * The background writes after every answer from the host; pages only read.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { tokenStatusSchema, type TokenStatus } from '#shared/schemas/token-status.js';

interface CacheDb extends DBSchema {
  statuses: { key: string; value: { name: string; status: TokenStatus; fetchedAt: number } };
  meta: { key: string; value: { key: string; fetchedAt: number } };
}

const DB_NAME = 'anaf-token';
const DB_VERSION = 1;

let db: Promise<IDBPDatabase<CacheDb>> | undefined;

function open(): Promise<IDBPDatabase<CacheDb>> {
  db ??= openDB<CacheDb>(DB_NAME, DB_VERSION, {
    upgrade(d) {
      d.createObjectStore('statuses', { keyPath: 'name' });
      d.createObjectStore('meta', { keyPath: 'key' });
    },
  });
  return db;
}

export interface CachedStatuses {
  profiles: TokenStatus[];
  /** When the host last answered about any profile; undefined if never. */
  fetchedAt: number | undefined;
}

export async function readCachedStatuses(): Promise<CachedStatuses> {
  const d = await open();
  const rows = await d.getAll('statuses');
  const meta = await d.get('meta', 'list');
  // A cache written by an older version may not parse: drop those rows rather than show garbage.
  const profiles = rows.flatMap((r) => {
    const p = tokenStatusSchema.safeParse(r.status);
    return p.success ? [p.data] : [];
  });
  profiles.sort((a, b) => a.profile.name.localeCompare(b.profile.name));
  const times = [meta?.fetchedAt, ...rows.map((r) => r.fetchedAt)].filter((x): x is number => x !== undefined);
  return { profiles, fetchedAt: times.length ? Math.max(...times) : undefined };
}

/** The full list from the host: replaces the cache (profiles removed elsewhere disappear). */
export async function writeAllStatuses(profiles: TokenStatus[]): Promise<void> {
  const d = await open();
  const tx = d.transaction(['statuses', 'meta'], 'readwrite');
  const now = Date.now();
  await tx.objectStore('statuses').clear();
  for (const status of profiles) await tx.objectStore('statuses').put({ name: status.profile.name, status, fetchedAt: now });
  await tx.objectStore('meta').put({ key: 'list', fetchedAt: now });
  await tx.done;
}

/** The host confirmed the cached list unchanged: only its time moves. */
export async function touchStatuses(): Promise<void> {
  const d = await open();
  await d.put('meta', { key: 'list', fetchedAt: Date.now() });
}

export async function writeStatus(status: TokenStatus): Promise<void> {
  const d = await open();
  await d.put('statuses', { name: status.profile.name, status, fetchedAt: Date.now() });
}

export async function deleteStatus(name: string): Promise<void> {
  const d = await open();
  await d.delete('statuses', name);
}
