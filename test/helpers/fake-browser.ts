/**
 * A fake `browser` (and `chrome`) for the extension's background under Node: the parts it uses,
 * with the behaviour that matters to it — storage that answers asynchronously (so interleaved
 * updates really interleave), tabs, alarms, session rules, permissions, notifications, the
 * badge, and native messaging through a scripted host: `connectNative` ports that the test
 * answers, exits (with Chrome's runtime.lastError text) or leaves silent.
 *
 * Use: vi.mock('webextension-polyfill', () => ({ default: fakeBrowser })), stub `chrome` with
 * the same object, and `resetFakeBrowser()` before each test.
 */

type Fn = (...args: never[]) => unknown;

export class FakeEvent<F extends Fn> {
  readonly listeners: F[] = [];
  addListener(f: F): void {
    this.listeners.push(f);
  }
  removeListener(f: F): void {
    const i = this.listeners.indexOf(f);
    if (i >= 0) this.listeners.splice(i, 1);
  }
  hasListener(f: F): boolean {
    return this.listeners.includes(f);
  }
  emit(...args: Parameters<F>): void {
    for (const f of [...this.listeners]) f(...args);
  }
}

/** A few turns of the microtask queue: what an async browser API costs, without timers. */
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** One connectNative port, seen from both ends: the extension posts, the test's host answers. */
export class FakeNativePort {
  readonly onMessage = new FakeEvent<(m: unknown, p: FakeNativePort) => void>();
  readonly onDisconnect = new FakeEvent<(p: FakeNativePort) => void>();
  readonly posted: Record<string, unknown>[] = [];
  /** The extension called disconnect() (closing the host's stdin). */
  closedByExtension = false;
  /** The host side is gone (exited, crashed, or never started). */
  gone = false;

  constructor(
    readonly name: string,
    private readonly host: NativeScript,
  ) {}

  postMessage(message: unknown): void {
    if (this.closedByExtension || this.gone) throw new Error('Attempting to use a disconnected port object');
    // Chrome serialises the message: the host gets a copy.
    const copy = JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
    this.posted.push(copy);
    void turns().then(() => this.host(copy, this));
  }

  disconnect(): void {
    this.closedByExtension = true;
  }

  /** The host writes an answer (delivered like Chrome does: later, as a fresh copy). */
  answer(message: unknown): void {
    const copy: unknown = JSON.parse(JSON.stringify(message));
    void turns().then(() => {
      if (!this.closedByExtension && !this.gone) this.onMessage.emit(copy, this);
    });
  }

  /** The host process ended: onDisconnect fires with runtime.lastError set, as in Chrome. */
  exit(lastError = 'Native host has exited.'): void {
    if (this.gone || this.closedByExtension) return;
    this.gone = true;
    fakeBrowser.runtime.lastError = { message: lastError };
    try {
      this.onDisconnect.emit(this);
    } finally {
      fakeBrowser.runtime.lastError = undefined;
    }
  }

  requests(type?: string): Record<string, unknown>[] {
    return type === undefined ? this.posted : this.posted.filter((m) => m.type === type);
  }
}

/** How the scripted host treats each message the extension posts. */
export type NativeScript = (message: Record<string, unknown>, port: FakeNativePort) => void;

export const HOST_VERSION = '0.1.0';

/** A well-behaved host: hello with this protocol; other types from `results` (or an INTERNAL error). */
export function scriptedHost(results: Record<string, unknown> = {}, protocol = 1): NativeScript {
  return (m, port) => {
    if (m.type === 'hello') return port.answer({ id: m.id, ok: true, result: { protocol, hostVersion: HOST_VERSION } });
    if (typeof m.type === 'string' && m.type in results) return port.answer({ id: m.id, ok: true, result: results[m.type] });
    port.answer({ id: m.id, ok: false, error: { code: 'INTERNAL', message: { en: 'Unexpected error.', ro: 'Eroare neașteptată.' } } });
  };
}

type Item = Record<string, unknown>;

function storageArea() {
  let data: Item = {};
  const area = {
    onChanged: new FakeEvent<(changes: Item) => void>(),
    async get(keys?: string | string[] | null): Promise<Item> {
      await turns();
      const all = structuredClone(data);
      if (keys === null || keys === undefined) return all;
      const out: Item = {};
      for (const k of Array.isArray(keys) ? keys : [keys]) if (k in all) out[k] = all[k];
      return out;
    },
    async set(items: Item): Promise<void> {
      await turns();
      data = { ...data, ...structuredClone(items) };
      area.onChanged.emit(structuredClone(items));
    },
    async remove(key: string): Promise<void> {
      await turns();
      delete data[key];
    },
    reset(): void {
      data = {};
    },
    /** The stored value, read synchronously by the test. */
    peek(key: string): unknown {
      return structuredClone(data[key]);
    },
  };
  return area;
}

export interface FakeTab {
  id: number;
  url: string;
  active?: boolean;
  status: 'loading' | 'complete';
}

interface SessionRule {
  id: number;
  condition: { tabIds?: number[]; regexFilter?: string };
  action: unknown;
  priority?: number;
}

export const EXTENSION_ID = 'igbjmhbmmlfhbpngcanfobibgjmcfpnn';

function makeFake() {
  const tabs = new Map<number, FakeTab>();
  let nextTab = 100;
  const alarms = new Map<string, { name: string; scheduledTime: number }>();
  let rules: SessionRule[] = [];
  const granted = { origins: new Set<string>(), permissions: new Set<string>() };
  const fake = {
    native: {
      script: scriptedHost(),
      ports: [] as FakeNativePort[],
      /** What sendNativeMessage sends (one host process each). */
      oneShots: [] as Record<string, unknown>[],
      /** Makes connectNative's port fail at once, as Chrome does for a missing or forbidden host. */
      failConnect: undefined as string | undefined,
    },
    runtime: {
      id: EXTENSION_ID,
      lastError: undefined as { message: string } | undefined,
      onConnect: new FakeEvent<(p: unknown) => void>(),
      getURL: (p: string) => `chrome-extension://${EXTENSION_ID}/${p.replace(/^\//, '')}`,
      getManifest: () => ({ version: '0.1.0' }),
      connectNative(name: string): FakeNativePort {
        const port = new FakeNativePort(name, (m, p) => fake.native.script(m, p));
        fake.native.ports.push(port);
        const fail = fake.native.failConnect;
        if (fail !== undefined) void turns().then(() => port.exit(fail));
        return port;
      },
      async sendNativeMessage(_name: string, message: unknown): Promise<unknown> {
        const copy = JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
        fake.native.oneShots.push(copy);
        return new Promise((resolve, reject) => {
          const port = new FakeNativePort('one-shot', (m, p) => fake.native.script(m, p));
          port.onMessage.addListener((answer) => resolve(answer));
          port.onDisconnect.addListener(() => reject(new Error(fake.runtime.lastError?.message ?? 'Native host has exited.')));
          void turns().then(() => fake.native.script(copy, port));
        });
      },
    },
    storage: { session: storageArea(), local: storageArea() },
    tabs: {
      all: tabs,
      onRemoved: new FakeEvent<(id: number) => void>(),
      onUpdated: new FakeEvent<(id: number, info: { status?: string }) => void>(),
      /** New tabs never finish loading their first page. */
      stallLoads: false,
      /** New tabs are created already loaded, with no onUpdated to tell (the event came before anyone listened). */
      loadedAtCreate: false,
      /** Each update's tab as it was when the update came. */
      updates: [] as FakeTab[],
      /** Returned while loading, as Chrome does; it completes 50 ms later (after the flow's own steps). */
      async create(opts: { url: string; active?: boolean }): Promise<FakeTab> {
        await turns();
        const tab: FakeTab = { id: nextTab++, url: opts.url, active: opts.active, status: fake.tabs.loadedAtCreate ? 'complete' : 'loading' };
        tabs.set(tab.id, tab);
        if (fake.tabs.loadedAtCreate) return { ...tab };
        setTimeout(() => {
          if (tabs.get(tab.id) !== tab || fake.tabs.stallLoads) return;
          tab.status = 'complete';
          fake.tabs.onUpdated.emit(tab.id, { status: 'complete' });
        }, 50);
        return { ...tab };
      },
      async update(id: number, opts: { url: string }): Promise<FakeTab> {
        await turns();
        const tab = tabs.get(id);
        if (!tab) throw new Error(`No tab with id: ${id}.`);
        fake.tabs.updates.push({ ...tab });
        tab.url = opts.url;
        return { ...tab };
      },
      async get(id: number): Promise<FakeTab> {
        await turns();
        const tab = tabs.get(id);
        if (!tab) throw new Error(`No tab with id: ${id}.`);
        return { ...tab };
      },
      async remove(id: number): Promise<void> {
        await turns();
        if (!tabs.delete(id)) throw new Error(`No tab with id: ${id}.`);
        fake.tabs.onRemoved.emit(id);
      },
    },
    alarms: {
      all: alarms,
      async create(name: string, info: { when?: number; delayInMinutes?: number }): Promise<void> {
        alarms.set(name, { name, scheduledTime: info.when ?? Date.now() + (info.delayInMinutes ?? 0) * 60_000 });
      },
      async clear(name: string): Promise<boolean> {
        return alarms.delete(name);
      },
      async get(name: string) {
        return alarms.get(name);
      },
    },
    permissions: {
      granted,
      async contains(p: { origins?: string[]; permissions?: string[] }): Promise<boolean> {
        return (p.origins ?? []).every((o) => granted.origins.has(o)) && (p.permissions ?? []).every((x) => granted.permissions.has(x));
      },
    },
    declarativeNetRequest: {
      rules: () => rules,
      async updateSessionRules(u: { removeRuleIds?: number[]; addRules?: SessionRule[] }): Promise<void> {
        rules = rules.filter((r) => !(u.removeRuleIds ?? []).includes(r.id));
        for (const r of u.addRules ?? []) {
          if (rules.some((x) => x.id === r.id)) throw new Error(`Rule with id ${r.id} already exists`);
          rules.push(structuredClone(r));
        }
      },
      async getSessionRules(): Promise<SessionRule[]> {
        return structuredClone(rules);
      },
    },
    browsingData: {
      removed: [] as { since: number; origins: string[] }[],
      async removeCache(o: { since: number; origins: string[] }): Promise<void> {
        fake.browsingData.removed.push(o);
      },
    },
    notifications: {
      shown: new Map<string, { title: string; message: string }>(),
      async create(id: string, o: { title: string; message: string }): Promise<string> {
        fake.notifications.shown.set(id, { title: o.title, message: o.message });
        return id;
      },
      async clear(id: string): Promise<boolean> {
        return fake.notifications.shown.delete(id);
      },
    },
    action: {
      badge: { text: '', color: '', title: '' },
      async setBadgeText(o: { text: string }) {
        fake.action.badge.text = o.text;
      },
      async setBadgeBackgroundColor(o: { color: string }) {
        fake.action.badge.color = o.color;
      },
      async setTitle(o: { title: string }) {
        fake.action.badge.title = o.title;
      },
    },
    i18n: {
      /** The key and its substitutions: enough to tell which message was chosen. */
      getMessage: (key: string, subs?: string | string[]) => (key === 'lang' ? 'en' : [key, ...(subs === undefined ? [] : [subs].flat())].join('|')),
    },
    reset(): void {
      fake.native.script = scriptedHost();
      fake.native.ports.length = 0;
      fake.native.oneShots.length = 0;
      fake.native.failConnect = undefined;
      fake.runtime.lastError = undefined;
      fake.runtime.onConnect.listeners.length = 0;
      fake.storage.session.reset();
      fake.storage.local.reset();
      tabs.clear();
      fake.tabs.onUpdated.listeners.length = 0;
      fake.tabs.stallLoads = false;
      fake.tabs.loadedAtCreate = false;
      fake.tabs.updates.length = 0;
      nextTab = 100;
      alarms.clear();
      rules = [];
      granted.origins.clear();
      granted.permissions.clear();
      fake.browsingData.removed.length = 0;
      fake.notifications.shown.clear();
      fake.action.badge = { text: '', color: '', title: '' };
    },
  };
  return fake;
}

export const fakeBrowser = makeFake();
export type FakeBrowser = typeof fakeBrowser;

export function resetFakeBrowser(): void {
  fakeBrowser.reset();
}

/** Lets every pending fake browser call and answer run (no timers involved). */
export async function settle(rounds = 20): Promise<void> {
  await turns(rounds * 4);
}
