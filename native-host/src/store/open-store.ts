/**
 * Which store this machine uses, and opening it. The local vault (SQLite, per OS user) unless a
 * team store is named: ANAF_TOKEN_STORE (for services: a postgres:// URL, or "local"), else
 * config.json's `store` (written by `anaf-token store use`). The team store's code and its
 * driver load only when one is used.
 */
import { AppError } from '#shared/errors.js';
import type { Paths } from '../config/paths.js';
import { readConfig, type HostConfig } from '../config/host-config.js';
import { Vault } from '../vault/vault.js';
import { SECRET_PARAMS } from './url-secrets.js';
import type { Store } from './store.js';

export type StoreLocation = { engine: 'sqlite' } | { engine: 'postgres'; url: string; from: 'environment' | 'config' };

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** `config` is asked only when the environment does not decide. */
export function storeLocation(paths: Paths, env: NodeJS.ProcessEnv = process.env, config: () => HostConfig = () => readConfig(paths)): StoreLocation {
  const fromEnv = env.ANAF_TOKEN_STORE;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv === 'local') return { engine: 'sqlite' };
    if (!POSTGRES_URL.test(fromEnv)) throw new AppError('BAD_REQUEST', 'ANAF_TOKEN_STORE: "local" or a postgres:// URL');
    return { engine: 'postgres', url: fromEnv, from: 'environment' };
  }
  const url = config().store;
  return url === undefined ? { engine: 'sqlite' } : { engine: 'postgres', url, from: 'config' };
}

/** The URL as it may be shown: without its password (in the authority or the query). */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of SECRET_PARAMS) if (u.searchParams.has(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

export interface OpenStoreOptions {
  paths: Paths;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
}

export function openVault(o: OpenStoreOptions): Vault {
  return Vault.open({ paths: o.paths, ...(o.now ? { now: o.now } : {}), ...(o.env ? { env: o.env } : {}) });
}

/** The team store at `url`, opened with this machine's team key (TEAM_KEY_MISSING: join the team first). */
export async function openTeamStore(url: string, o: OpenStoreOptions): Promise<Store> {
  const [{ TeamStore }, { loadTeamKey }] = await Promise.all([import('../team/team-store.js'), import('../team/team-key.js')]);
  const { key } = loadTeamKey({ paths: o.paths, env: o.env });
  return TeamStore.connect({ url, teamKey: key, ...(o.now ? { now: o.now } : {}) });
}

export async function openStore(where: StoreLocation, o: OpenStoreOptions): Promise<Store> {
  return where.engine === 'sqlite' ? openVault(o) : openTeamStore(where.url, o);
}
