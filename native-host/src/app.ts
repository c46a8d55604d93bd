/** What every command and every native request works with: paths, the store (opened on first use), a logger. */
import { resolvePaths, type Paths } from './config/paths.js';
import type { Logger } from './log/logger.js';
import { Vault } from './vault/vault.js';
import type { Store } from './store/store.js';
import type { TokenDeps } from './tokens/deps.js';

export interface AppOptions {
  paths?: Paths;
  log: Logger;
  now?: () => number;
  timeoutMs?: number;
}

export class App {
  readonly paths: Paths;
  readonly log: Logger;
  readonly now: () => number;
  private readonly timeoutMs: number | undefined;
  private opened: Store | undefined;

  constructor(opts: AppOptions) {
    this.paths = opts.paths ?? resolvePaths();
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs;
  }

  get store(): Store {
    this.opened ??= Vault.open({ paths: this.paths, now: this.now });
    return this.opened;
  }

  get tokenDeps(): TokenDeps {
    return {
      store: this.store,
      log: this.log,
      now: this.now,
      client: this.timeoutMs === undefined ? { now: this.now } : { now: this.now, timeoutMs: this.timeoutMs },
    };
  }

  async close(): Promise<void> {
    await this.opened?.close();
    this.opened = undefined;
  }
}
