/**
 * Obtain-token flows in storage.session, one per profile. Updates go through one queue so
 * events that interleave across awaits (callback, tab closed, timeout) never lose a write.
 */
import browser from 'webextension-polyfill';
import { FLOWS_KEY, parseFlows, type Flow, type Flows } from '../../shared/flow-state.js';

let queue: Promise<unknown> = Promise.resolve();
let stored: ((flows: Flows) => void) | undefined;

/** Told every write (the native port is held while a flow runs: native/holds.ts). */
export function onFlowsStored(listener: (flows: Flows) => void): void {
  stored = listener;
}

function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

async function readAll(): Promise<Flows> {
  const got = await browser.storage.session.get(FLOWS_KEY);
  return parseFlows(got[FLOWS_KEY]);
}

export function allFlows(): Promise<Flows> {
  return serial(readAll);
}

export async function flowByTab(tabId: number): Promise<Flow | undefined> {
  const flows = await allFlows();
  return Object.values(flows).find((f) => f.tabId === tabId && (f.phase === 'waiting' || f.phase === 'completing'));
}

/**
 * Changes one profile's flow. `fn` gets the current flow (or undefined) and returns the new one,
 * undefined to delete it, or `null` to leave everything as it is. Returns what was stored.
 */
export function updateFlow(profile: string, fn: (current: Flow | undefined) => Flow | undefined | null): Promise<Flow | undefined> {
  return serial(async () => {
    const flows = await readAll();
    const next = fn(flows[profile]);
    if (next === null) return flows[profile];
    if (next === undefined) delete flows[profile];
    else flows[profile] = next;
    await browser.storage.session.set({ [FLOWS_KEY]: flows });
    stored?.(flows);
    return next;
  });
}
