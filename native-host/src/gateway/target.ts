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

export async function apiTarget(store: Store, gateway: GatewayStore, profile: string): Promise<string> {
  const set = await gateway.apiBase(profile);
  if (set !== undefined) return set;
  const p = await store.getProfile(profile);
  if (p.env === 'prod' || p.env === 'test') return p.env;
  throw new AppError('GATEWAY_API_NOT_SET', profile);
}

export async function endpointsFor(store: Store, gateway: GatewayStore, profile: string): Promise<ApiEndpoints> {
  return apiEndpoints(await apiTarget(store, gateway, profile));
}

/** Checks a base before it is stored: prod, test or an https URL (apiEndpoints' rule). */
export function checkApiBase(base: string): string {
  apiEndpoints(base);
  return base === 'prod' || base === 'test' ? base : base.replace(/\/+$/, '');
}
