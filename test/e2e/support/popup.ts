/** Reading the popup as a user sees it, and keeping screenshots and timings as artifacts. */
import fs from 'node:fs';
import path from 'node:path';
import type { Page, Worker } from 'playwright-core';
import { ARTIFACTS } from './paths.js';

export const STATES = ['none', 'valid', 'expiring', 'expired', 'dead'] as const;

export function statusLocator(page: Page, profile: string) {
  return page.getByTestId(`status-${profile}`);
}

/** A failed wait says what the popup showed instead (a host error, a stale card, nothing). */
export async function waitForState(page: Page, profile: string, state: (typeof STATES)[number], timeout = 30_000): Promise<void> {
  try {
    await page.locator(`[data-testid="status-${profile}"][data-state="${state}"]`).waitFor({ timeout });
  } catch (e) {
    const shown = await page.evaluate(() => document.body.innerText).catch(() => '(page gone)');
    throw new Error(`${profile} never showed ${state}; the popup showed:\n${shown}`, { cause: e });
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  // A background tab renders no frames, and the screenshot would wait for one.
  await page.bringToFront();
  await page.locator('body').screenshot({ path: file });
  return file;
}

export function recordTiming(name: string, ms: number): void {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'timings.json');
  const all = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>) : {};
  all[name] = Math.round(ms);
  fs.writeFileSync(file, JSON.stringify(all, null, 2) + '\n');
}

interface ExtensionGlobals {
  chrome: {
    declarativeNetRequest: { getSessionRules(): Promise<unknown[]> };
    action: { getBadgeText(details: object): Promise<string> };
    alarms: { create(name: string, info: { when: number; periodInMinutes?: number }): Promise<void> };
    notifications: { getAll(): Promise<Record<string, boolean>> };
    storage: { local: { get(keys: null): Promise<object> }; session: { get(keys: null): Promise<object> } };
    tabs: {
      query(q: object): Promise<{ id?: number; title?: string; status?: string; url?: string; pendingUrl?: string }[]>;
      remove(id: number): Promise<void>;
    };
  };
}

/**
 * The titles of the browser's tabs, as the extension sees them. Playwright's page object for a
 * tab the extension opened sometimes misses that tab's navigation (its URL stays ''), so tests
 * ask the browser itself.
 */
export function tabTitles(worker: Worker): Promise<string[]> {
  // A tab without a title yet shows its address and load status instead: a failed wait then says where each tab was.
  return worker.evaluate(async () =>
    (await (globalThis as unknown as ExtensionGlobals).chrome.tabs.query({})).map(
      (t) => t.title || `(untitled: ${t.status ?? '?'} ${(t.pendingUrl ?? t.url ?? '').slice(0, 120)})`,
    ),
  );
}

/** Closes every tab with this title, as the user would. */
export function closeTabsTitled(worker: Worker, title: string): Promise<void> {
  return worker.evaluate(async (want) => {
    const c = (globalThis as unknown as ExtensionGlobals).chrome;
    for (const t of await c.tabs.query({})) if (t.title === want && t.id !== undefined) await c.tabs.remove(t.id);
  }, title);
}

/** Session rules still installed (each obtain flow must remove its own). */
export function sessionRuleCount(worker: Worker): Promise<number> {
  return worker.evaluate(async () => (await (globalThis as unknown as ExtensionGlobals).chrome.declarativeNetRequest.getSessionRules()).length);
}

export function badgeText(worker: Worker): Promise<string> {
  return worker.evaluate(() => (globalThis as unknown as ExtensionGlobals).chrome.action.getBadgeText({}));
}

/** Everything the extension keeps: storage.local, storage.session and the IndexedDB cache, as text. */
export function extensionStorageDump(worker: Worker): Promise<string> {
  return worker.evaluate(async () => {
    const { chrome } = globalThis as unknown as ExtensionGlobals;
    const local = await chrome.storage.local.get(null);
    const session = await chrome.storage.session.get(null);
    const idb = await new Promise<unknown[]>((resolve, reject) => {
      const open = indexedDB.open('anaf-token');
      open.onerror = () => reject(open.error ?? new Error('indexedDB.open failed'));
      open.onsuccess = () => {
        const db = open.result;
        const names = Array.from(db.objectStoreNames);
        if (!names.length) return resolve([]);
        const tx = db.transaction(names, 'readonly');
        const out: unknown[] = [];
        let left = names.length;
        for (const n of names) {
          const req = tx.objectStore(n).getAll();
          req.onsuccess = () => {
            out.push(req.result);
            if (--left === 0) resolve(out);
          };
        }
      };
    });
    return JSON.stringify({ local, session, idb });
  });
}

/** Makes the extension's own daily alarm fire now (it stays daily afterwards). */
export function fireDailyAlarm(worker: Worker): Promise<void> {
  return worker.evaluate(() =>
    (globalThis as unknown as ExtensionGlobals).chrome.alarms.create('refresh-due', { when: Date.now() + 50, periodInMinutes: 24 * 60 }),
  );
}

export function notificationIds(worker: Worker): Promise<string[]> {
  return worker.evaluate(async () => Object.keys(await (globalThis as unknown as ExtensionGlobals).chrome.notifications.getAll()));
}

/** Makes an obtain flow's timeout alarm fire now, as if its 5 minutes had passed. */
export function fireFlowTimeout(worker: Worker, profile: string): Promise<void> {
  return worker.evaluate(
    (name) => (globalThis as unknown as ExtensionGlobals).chrome.alarms.create(`flow-timeout:${name}`, { when: Date.now() + 50 }),
    profile,
  );
}
