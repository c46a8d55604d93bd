/** The team store's rows as node-postgres returns them (bigint as number, bytea as Buffer), and the records made of them. */
export { PROFILE_COLUMNS, TOKEN_COLUMNS, rowToProfile, rowToToken, type ProfileRow, type TokenRow } from '../store/rows.js';

export type ApiClientRow = {
  name: string;
  key_sealed: Buffer;
  created_at: number;
  last_used_at: number | null;
  personal_id: boolean;
  profiles: string[] | null;
};

export type AuditRow = {
  at: number;
  profile: string;
  client: string;
  generation: number;
  host: string;
  os_user: string;
  action: 'token' | 'refused';
};

export type InviteRow = { id: string; wrapped: Buffer; expires_at: number; created_by: string };
