/**
 * What the vault's tables work with (profiles.ts, tokens.ts, …): its connection's statements,
 * its read cache, transactions, the clock, and sealing with the vault key (proven at first use).
 * Vault (vault.ts) makes one per connection and passes it; nothing of it is public.
 */
import type { StatementSync } from './sqlite.js';
import type { ProfileIdentity, SealedField } from './aad.js';

export interface VaultCore {
  readonly now: () => number;
  /** A statement prepared once per connection; one that writes drops the cached reads. */
  sql(text: string): StatementSync;
  /** A read answered from memory until the data changes (another process's commit, or a write here). */
  cached<T>(key: string, load: () => T): T;
  /** BEGIN IMMEDIATE … COMMIT (a savepoint inside another). */
  transaction<T>(fn: () => T): T;
  /** Proves the key (and migrates a v1 vault) before anything is sealed or opened. */
  checkKey(): void;
  sealingKey(): Buffer;
  /** PROFILE_ALTERED when the value was not sealed for this identity. */
  openSealed(sealed: Buffer, field: SealedField, id: ProfileIdentity): string;
  opensSealed(sealed: Buffer, field: SealedField, id: ProfileIdentity): boolean;
}
