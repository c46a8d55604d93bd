/** What the token use cases work with: the store, the log, how ANAF is called, the clock. */
import type { ClientOptions } from '../oauth/anaf-client.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';

export interface TokenDeps {
  store: Store;
  log: Logger;
  client?: ClientOptions;
  now?: () => number;
  /** Longer than one refresh request can take, so a live holder never loses its lease. */
  leaseTtlMs?: number;
  /** How long a process waits for another one's refresh before giving up. */
  waitTimeoutMs?: number;
  pollMs?: number;
}
