/**
 * The obtain flows' store (extension/src/background/flows/flow-store.ts) over a fake
 * storage.session whose calls answer asynchronously: interleaved updates never lose a write,
 * `null` leaves things as they are, `undefined` deletes, a failing update does not block the
 * next, and every write is told to the listener (which holds the native port while a flow runs).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Flow, Flows } from '../../extension/src/shared/flow-state.js';
import { FLOWS_KEY } from '../../extension/src/shared/flow-state.js';
import { fakeBrowser, resetFakeBrowser } from '../helpers/fake-browser.js';

vi.mock('webextension-polyfill', () => ({ default: fakeBrowser }));

type Store = typeof import('../../extension/src/background/flows/flow-store.js');
let store: Store;

const waiting = (profile: string, over: Partial<Flow> = {}): Flow => ({ profile, phase: 'waiting', startedAt: 1, ...over });

beforeEach(async () => {
  resetFakeBrowser();
  vi.resetModules();
  store = await import('../../extension/src/background/flows/flow-store.js');
});

describe('flow store', () => {
  it('keeps every one of many interleaved updates (each reads what the one before wrote)', async () => {
    const profiles = Array.from({ length: 12 }, (_, i) => `p${i}`);
    await Promise.all(profiles.map((p) => store.updateFlow(p, () => waiting(p))));
    expect(Object.keys(await store.allFlows()).sort()).toEqual([...profiles].sort());
    // Read-modify-write on one flow from many places at once: none lost.
    await Promise.all(Array.from({ length: 10 }, () => store.updateFlow('p0', (cur) => (cur ? { ...cur, startedAt: cur.startedAt + 1 } : null))));
    expect((await store.allFlows()).p0?.startedAt).toBe(11);
  });

  it('null leaves the flows untouched and returns the current one; undefined deletes', async () => {
    await store.updateFlow('firma', () => waiting('firma'));
    const before = fakeBrowser.storage.session.peek(FLOWS_KEY);
    expect(await store.updateFlow('firma', () => null)).toEqual(waiting('firma'));
    expect(fakeBrowser.storage.session.peek(FLOWS_KEY)).toEqual(before);
    expect(await store.updateFlow('firma', () => undefined)).toBeUndefined();
    expect(await store.allFlows()).toEqual({});
  });

  it('a throwing update changes nothing and does not block the ones after it', async () => {
    await store.updateFlow('firma', () => waiting('firma'));
    const failed = store.updateFlow('firma', () => {
      throw new Error('boom');
    });
    const next = store.updateFlow('alta', () => waiting('alta'));
    await expect(failed).rejects.toThrow('boom');
    await next;
    expect(Object.keys(await store.allFlows()).sort()).toEqual(['alta', 'firma']);
  });

  it('finds the running flow of a tab, not a finished one', async () => {
    await store.updateFlow('a', () => waiting('a', { tabId: 7 }));
    await store.updateFlow('b', () => ({ ...waiting('b', { tabId: 8 }), phase: 'failed', finishedAt: 2 }));
    await store.updateFlow('c', () => ({ ...waiting('c', { tabId: 9 }), phase: 'completing' }));
    expect((await store.flowByTab(7))?.profile).toBe('a');
    expect(await store.flowByTab(8)).toBeUndefined();
    expect((await store.flowByTab(9))?.profile).toBe('c');
    expect(await store.flowByTab(10)).toBeUndefined();
  });

  it('reads damaged storage as no flows, and writes over it', async () => {
    await fakeBrowser.storage.session.set({ [FLOWS_KEY]: { firma: { profile: 'firma', phase: 'exploded' } } });
    expect(await store.allFlows()).toEqual({});
    await store.updateFlow('alta', () => waiting('alta'));
    expect(fakeBrowser.storage.session.peek(FLOWS_KEY)).toEqual({ alta: waiting('alta') });
  });

  it('tells the listener every write, with all the flows as stored, and nothing when an update changes nothing', async () => {
    const seen: Flows[] = [];
    store.onFlowsStored((f) => seen.push(structuredClone(f)));
    await store.updateFlow('firma', () => waiting('firma'));
    await store.updateFlow('firma', () => null);
    await store.updateFlow('alta', () => waiting('alta'));
    await store.updateFlow('firma', () => undefined);
    expect(seen.map((f) => Object.keys(f).sort())).toEqual([['firma'], ['alta', 'firma'], ['alta']]);
  });
});
