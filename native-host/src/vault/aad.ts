/**
 * What each sealed value is bound to (its AES-GCM associated data). A profile's client secret
 * and its tokens are bound to the profile's identity: its name, OAuth server (`env`), client ID
 * and callback URL. Those columns stay readable, but a row whose server was changed without the
 * key no longer opens, so its secret and refresh token are never sent to the new server.
 *
 * v2 (this format): `v2:` + a JSON array, which keeps any character in a field unambiguous:
 *   secret:  v2:["profiles","secret",name,env,clientId,redirectUri]
 *   tokens:  v2:["tokens","access"|"refresh",name,env,clientId,redirectUri]
 *   check:   meta:key_check:v2
 * v1 (vaults written before): `profiles:<name>:secret`, `tokens:<name>:access|refresh`,
 * `meta:key_check`. These are used only to migrate a vault once (see Vault.checkKey).
 */

import { AppError } from '#shared/errors.js';
import { open } from './crypto.js';

export const KEY_CHECK_PLAINTEXT = 'anaf-token vault key check';
export const KEY_CHECK_AAD = 'meta:key_check:v2';
export const LEGACY_KEY_CHECK_AAD = 'meta:key_check';

/** The fields a profile's sealed values are bound to. */
export interface ProfileIdentity {
  name: string;
  env: string;
  clientId: string;
  redirectUri: string;
}

export type SealedField = 'secret' | 'access' | 'refresh';

export function profileAad(field: SealedField, id: ProfileIdentity): string {
  const table = field === 'secret' ? 'profiles' : 'tokens';
  return `v2:${JSON.stringify([table, field, id.name, id.env, id.clientId, id.redirectUri])}`;
}

/** The associated data the vault used before identities were bound (migration only). */
export function legacyAad(field: SealedField, name: string): string {
  return field === 'secret' ? `profiles:${name}:secret` : `tokens:${name}:${field}`;
}

/** Same server, client ID and callback URL: the secret and the tokens stay bound to it. */
export function sameIdentity(a: ProfileIdentity, b: ProfileIdentity): boolean {
  return a.name === b.name && a.env === b.env && a.clientId === b.clientId && a.redirectUri === b.redirectUri;
}

/** Which identity fields differ, for messages ("env, clientId"). */
export function changedFields(from: ProfileIdentity, to: ProfileIdentity): string[] {
  return (['env', 'clientId', 'redirectUri'] as const).filter((k) => from[k] !== to[k]);
}

/**
 * What a sealed client key is bound to: its row and its rights (personal ID, profiles), so a key
 * copied into another row, or a scope widened without the key, does not open. Rows sealed before
 * the rights were bound (`api_clients:<name>:key`) open only while they name no profiles.
 */
export const apiClientAad = (name: string, personalId: boolean, profiles: string[] | undefined): string =>
  `v2:${JSON.stringify(['api_clients', 'key', name, personalId ? 1 : 0, profiles ?? null])}`;
export const legacyApiClientAad = (name: string) => `api_clients:${name}:key`;

/** Opens a profile's secret or token for the given identity; PROFILE_ALTERED when it is not the one it was sealed for (either engine). */
export function openBound(key: Buffer, sealed: Buffer, field: SealedField, id: ProfileIdentity): string {
  try {
    return open(key, sealed, profileAad(field, id));
  } catch (e) {
    const what = field === 'secret' ? 'client secret' : `${field} token`;
    throw new AppError('PROFILE_ALTERED', `the ${what} of profile "${id.name}" does not open for server ${id.env.slice(0, 200)}`, { cause: e });
  }
}

/** Whether it opens for that identity. (A wrong key is found before: callers prove it first, sealingKey.) */
export function opensBound(key: Buffer, sealed: Buffer, field: SealedField, id: ProfileIdentity): boolean {
  try {
    openBound(key, sealed, field, id);
    return true;
  } catch (e) {
    if (e instanceof AppError && e.code === 'PROFILE_ALTERED') return false;
    throw e;
  }
}
