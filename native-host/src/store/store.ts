/**
 * Where profiles, tokens, ERP client keys, leases and the audit live. Two engines implement it:
 * the local vault (vault/, SQLite, one OS user on one machine) and the team store (team/,
 * PostgreSQL, shared by many machines). The domain code (tokens/, oauth/, serve/) sees only this.
 *
 * Methods return Awaitable<T>: the vault answers synchronously (node:sqlite), the team store
 * with a promise. Domain code always awaits, and the compiler holds it to that: a value that may
 * be a promise has no fields to read.
 */
import type { Profile } from '#shared/schemas/profile.js';
import type { ClientAuthMethod } from '../oauth/anaf-client.js';
import type {
  ApiClientKey,
  ApiClientOptions,
  ApiClientRecord,
  AuditEntry,
  AuditQuery,
  CertificateRecord,
  OpenedTokens,
  ProfileWrite,
  SavedProfile,
  TokenOrigin,
  TokenRecord,
  TokenSet,
} from './records.js';

export type Awaitable<T> = T | Promise<T>;

export type StoreEngine = 'sqlite' | 'postgres';

export interface Store {
  readonly engine: StoreEngine;
  close(): Awaitable<void>;

  /**
   * A number that changes whenever what this process reads may have changed (another process
   * committed, or this one wrote). Synchronous: the ERP service asks it on every request to know
   * whether a token it handed out a moment ago still stands.
   */
  readEpoch(): number;
  /** Throws VAULT_LOCKED (or TEAM_KEY_*) when this machine's key does not open the store. */
  checkKey(): Awaitable<void>;

  // ---- profiles
  listProfiles(): Awaitable<Profile[]>;
  /** Profiles in name order after `after`, at most `limit`, each with its token's status fields. */
  profilePage(after: string | undefined, limit: number): Awaitable<{ profile: Profile; token: TokenRecord | undefined }[]>;
  findProfile(name: string): Awaitable<Profile | undefined>;
  /** PROFILE_NOT_FOUND when there is none. */
  getProfile(name: string): Awaitable<Profile>;
  saveProfile(p: ProfileWrite, mode: 'create' | 'upsert'): Awaitable<SavedProfile>;
  removeProfile(name: string): Awaitable<boolean>;
  clientAuthMethod(name: string): Awaitable<ClientAuthMethod | undefined>;
  setClientAuthMethod(name: string, method: ClientAuthMethod): Awaitable<void>;
  /** Opens only for the server, client ID and callback URL it was saved with (else PROFILE_ALTERED). */
  clientSecret(profile: string | Profile): Awaitable<string>;
  checkProfile(profile: Profile): Awaitable<void>;

  // ---- tokens
  findToken(profile: string): Awaitable<TokenRecord | undefined>;
  allTokens(): Awaitable<Map<string, TokenRecord>>;
  readTokens(profile: string | Profile): Awaitable<OpenedTokens | undefined>;
  /** An authorization's answer (new row) or a refresh's (next generation), in one transaction. */
  saveTokens(obtainedFor: string | Profile, t: TokenSet, origin: TokenOrigin): Awaitable<TokenRecord>;
  setCertificate(profile: string, c: CertificateRecord): Awaitable<void>;
  setCertificateLabel(profile: string, label: string): Awaitable<void>;
  markDead(profile: string, reason: string): Awaitable<void>;
  recordFailure(profile: string, error: string): Awaitable<void>;
  deleteTokens(profile: string): Awaitable<boolean>;
  /** Profiles whose access token has entered its refresh window (or expired) and is not dead. */
  dueForRefresh(now?: number): Awaitable<string[]>;

  // ---- pending authorizations (a state opens at most one exchange)
  addPendingAuthorization(state: string, profile: string, ttlMs: number): Awaitable<number>;
  takePendingAuthorization(state: string, profile: string): Awaitable<boolean>;
  takeOnlyRecentPending(profile: string, since: number): Awaitable<boolean>;

  // ---- leases: one refresh per grant across every process (and machine) using the store
  tryAcquireLease(name: string, owner: string, ttlMs: number): Awaitable<boolean>;
  releaseLease(name: string, owner: string): Awaitable<void>;
  leaseActive(name: string): Awaitable<boolean>;

  // ---- ERP clients of the token service
  addApiClient(name: string, key: string, opts?: ApiClientOptions): Awaitable<ApiClientRecord & { replacedOldKey: boolean }>;
  listApiClients(): Awaitable<ApiClientRecord[]>;
  apiClientKey(name: string): Awaitable<ApiClientKey | undefined>;
  removeApiClient(name: string): Awaitable<boolean>;
  touchApiClient(name: string, at?: number): Awaitable<void>;

  // ---- audit: who got which token when
  recordAudit(entry: AuditEntry): Awaitable<void>;
  audit(query: AuditQuery): Awaitable<AuditEntry[]>;
}
