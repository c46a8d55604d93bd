/**
 * Where a profile's e-Factura / e-Transport API is: the base set for it (`profile add … --api`,
 * kept in the gateway store's settings, since the profile record itself has no such field),
 * else its OAuth environment when that is ANAF's (`prod` / `test`). A profile whose OAuth server
 * is another one (a stand-in) must have its API base set.
 */
import { AppError } from '#shared/errors.js';
import { apiEndpoints, type ApiEndpoints } from '../efactura/index.js';
import type { Store } from '../store/store.js';
import type { GatewayStore } from './store.js';

/**
 * The API base a profile's token may be sent to. The base kept in the gateway's settings is a
 * plain column (in a team store, anyone who can write the database can change it), so it is
 * trusted only where the profile's own server already is: ANAF's API for an ANAF profile, the
 * same origin as its OAuth server for another one. The profile's server is the checked one: its
 * secret opens only for it (PROFILE_ALTERED otherwise), so an edited base sends nothing anywhere.
 */
export async function apiTarget(store: Store, gateway: GatewayStore, profile: string): Promise<string> {
  const p = await store.getProfile(profile);
  await store.checkProfile(p);
  const set = await gateway.apiBase(profile);
  if (set === undefined) {
    if (p.env === 'prod' || p.env === 'test') return p.env;
    throw new AppError('GATEWAY_API_NOT_SET', profile);
  }
  if (!baseFitsServer(set, p.env)) {
    throw new AppError('PROFILE_ALTERED', `the e-Factura API base of profile "${profile}" (${set.slice(0, 200)}) is not on its server ${p.env.slice(0, 200)}`);
  }
  return set;
}

const ANAF_API_HOSTS = new Set(['api.anaf.ro', 'webservicesp.anaf.ro']);

function baseFitsServer(base: string, env: string): boolean {
  if (base === 'prod' || base === 'test') return env === 'prod' || env === 'test';
  if (!URL.canParse(base)) return false;
  const b = new URL(base);
  if (env === 'prod' || env === 'test') return b.protocol === 'https:' && ANAF_API_HOSTS.has(b.hostname);
  return URL.canParse(env) && new URL(env).origin === b.origin;
}

export async function endpointsFor(store: Store, gateway: GatewayStore, profile: string): Promise<ApiEndpoints> {
  return apiEndpoints(await apiTarget(store, gateway, profile));
}

/** Checks a base before it is stored: prod, test or an https URL (apiEndpoints' rule). */
export function checkApiBase(base: string): string {
  apiEndpoints(base);
  return base === 'prod' || base === 'test' ? base : base.replace(/\/+$/, '');
}
