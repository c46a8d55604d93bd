/** What every command and every native request works with: paths, config.json, the store (opened on first use), a logger. */
import { readConfig, type HostConfig } from './config/host-config.js';
import { resolvePaths, type Paths } from './config/paths.js';
import type { Logger } from './log/logger.js';
import { openStore, openVault, storeLocation, type StoreLocation } from './store/open-store.js';
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
  private where: StoreLocation | undefined;
  private settings: HostConfig | undefined;
  private opening: Promise<Store> | undefined;

  constructor(opts: AppOptions) {
    this.paths = opts.paths ?? resolvePaths();
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs;
  }

  /**
   * The store, once opened. The local vault opens here on first use (synchronously: a native
   * message that needs no store never opens it); a team store must have been opened with
   * ready() first, which every entry point (CLI, native host, serve) awaits.
   */
  get store(): Store {
    if (this.opened) return this.opened;
    if (this.location().engine !== 'sqlite') throw new Error('the team store is opened by App.ready()');
    this.opened = openVault({ paths: this.paths, now: this.now });
    return this.opened;
  }

  /** Opens a team store when this machine uses one (the local vault stays lazy). */
  async ready(): Promise<void> {
    const where = this.location();
    if (where.engine === 'sqlite' || this.opened) return;
    // One opening for every caller: concurrent native messages must not each open (and leak) a pool.
    this.opening ??= openStore(where, { paths: this.paths, now: this.now });
    try {
      this.opened = await this.opening;
    } finally {
      this.opening = undefined;
    }
  }

  /** config.json: read once per app, when first asked. */
  config(): HostConfig {
    this.settings ??= readConfig(this.paths);
    return this.settings;
  }

  /** Where the store is: decided once per app (config.json is read only when the environment does not say). */
  location(): StoreLocation {
    this.where ??= storeLocation(this.paths, process.env, () => this.config());
    return this.where;
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
