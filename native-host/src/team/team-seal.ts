/**
 * What the team store's sealed values are bound to (their AES-GCM associated data): the vault's
 * own bindings, so both engines bind a value the same way (only the key differs, the vault's or
 * the team's):
 *   profile secret and tokens: vault/aad.ts profileAad (name, server, client ID, callback URL);
 *   ERP client key: vault/vault.ts apiClientAad (name, personal ID, profiles list or null), so
 *     widening a client's scope by editing its row leaves a key that does not open ('unreadable').
 * The team's check value is team-key.ts's (registrationFor / checkTeamKey).
 */
export { apiClientAad } from '../vault/aad.js';

/** A client's scope as stored and bound: sorted, without repeats (as the vault keeps it); undefined means all profiles. */
export function normalScope(profiles: readonly string[] | undefined): string[] | undefined {
  return profiles === undefined ? undefined : [...new Set(profiles)].sort();
}
