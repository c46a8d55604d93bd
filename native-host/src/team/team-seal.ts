/**
 * What the team store's sealed values are bound to (their AES-GCM associated data). Profile
 * secrets and tokens, and ERP client keys, use the vault's own bindings, so both engines bind a
 * value the same way (only the key differs: the vault's or the team's):
 *   profile secret and tokens: vault/aad.ts profileAad (name, server, client ID, callback URL);
 *   ERP client key: vault/vault.ts apiClientAad (name, personal ID, profiles list or null), so
 *     widening a client's scope by editing its row leaves a key that does not open ('unreadable').
 * The team's own check value:
 *   team:v1:["team_meta","key_check",teamId]
 */
export { apiClientAad } from '../vault/vault.js';

export const TEAM_KEY_CHECK_PLAINTEXT = 'anaf-token team key check';

export function teamKeyCheckAad(teamId: string): string {
  return `team:v1:${JSON.stringify(['team_meta', 'key_check', teamId])}`;
}

/** A client's scope as stored and bound: sorted, without repeats (as the vault keeps it); undefined means all profiles. */
export function normalScope(profiles: readonly string[] | undefined): string[] | undefined {
  return profiles === undefined ? undefined : [...new Set(profiles)].sort();
}
