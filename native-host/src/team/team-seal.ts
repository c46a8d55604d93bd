/**
 * What the team store's sealed values are bound to (their AES-GCM associated data), beside the
 * profile secrets and tokens, which use the vault's own binding (vault/aad.ts profileAad: name,
 * server, client ID, callback URL), so a value moves between the two engines unchanged.
 *
 *   key check:      team:v1:["team_meta","key_check",teamId]
 *   ERP client key: team:v1:["api_clients","key",name,personalId,profiles|null]
 *
 * A client key is bound to its scope as well as its name: widening a client's profiles (or
 * granting it the personal ID) by editing the row leaves a key that does not open ('unreadable').
 */
export const TEAM_KEY_CHECK_PLAINTEXT = 'anaf-token team key check';

export function teamKeyCheckAad(teamId: string): string {
  return `team:v1:${JSON.stringify(['team_meta', 'key_check', teamId])}`;
}

/** A client's scope as stored and bound: sorted, without repeats; undefined means all profiles. */
export function normalScope(profiles: readonly string[] | undefined): string[] | undefined {
  return profiles === undefined ? undefined : [...new Set(profiles)].sort();
}

export function apiClientAad(name: string, personalId: boolean, profiles: readonly string[] | undefined): string {
  return `team:v1:${JSON.stringify(['api_clients', 'key', name, personalId, profiles ?? null])}`;
}
