/**
 * The host's early start (extension/src/background/page-port.ts isPageOpening, host-port.ts
 * warmUp): the worker sees the popup or the options page being fetched and starts the host while
 * Chrome loads the page; the page's own hold then finds it running, and without one it ends after
 * the usual grace. That the worker's fetch listener calls them shows only in Chromium, in the
 * bench's popup figure (scripts/bench/popup.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXTENSION_ID, fakeBrowser, resetFakeBrowser, scriptedHost } from '../helpers/fake-browser.js';

vi.mock('webextension-polyfill', () => ({ default: fakeBrowser }));

const ORIGIN = `chrome-extension://${EXTENSION_ID}`;
vi.stubGlobal('location', { origin: ORIGIN });

const { isPageOpening } = await import('../../extension/src/background/page-port.js');
const { NativePort, RELEASE_GRACE_MS } = await import('../../extension/src/background/native/native-port.js');
const { NativeHost } = await import('../../extension/src/background/native/host-port.js');

const navigation = { mode: 'navigate', destination: 'document' };
const opening = (url: string, req = navigation) => isPageOpening(new URL(url), req);

beforeEach(() => {
  resetFakeBrowser();
  fakeBrowser.native.script = scriptedHost({ status: { profiles: [] } });
});
afterEach(() => vi.useRealTimers());

describe('isPageOpening', () => {
  it('is the top-level load of the popup or the options page of this extension', () => {
    expect(opening(`${ORIGIN}/popup.html`)).toBe(true);
    expect(opening(`${ORIGIN}/options.html#requests`)).toBe(true);
  });

  it('is not a page without a port (callback, request link), a sub-resource, a frame, or another origin', () => {
    expect(opening(`${ORIGIN}/callback.html`)).toBe(false);
    expect(opening(`${ORIGIN}/request.html#ar1.x`)).toBe(false);
    expect(opening(`${ORIGIN}/popup.html`, { mode: 'cors', destination: 'script' })).toBe(false);
    expect(opening(`${ORIGIN}/popup.html`, { mode: 'navigate', destination: 'iframe' })).toBe(false);
    expect(opening('chrome-extension://otherextensionidotherextensionid/popup.html')).toBe(false);
  });
});

describe('NativeHost.warmUp', () => {
  it('starts the host at once; the page that connects within the grace keeps that same host', async () => {
    vi.useFakeTimers();
    const host = new NativeHost(new NativePort());
    host.warmUp();
    expect(fakeBrowser.native.ports).toHaveLength(1);
    expect(fakeBrowser.native.ports[0]!.posted.map((m) => m.type)).toEqual(['hello']);
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS / 2);
    const release = host.hold('page:1');
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS * 3);
    expect(host.port.current.kind).toBe('ready');
    expect(await host.request({ type: 'status' })).toEqual({ profiles: [] });
    expect(fakeBrowser.native.ports).toHaveLength(1);
    release();
  });

  it('without a page to hold it, the host ends one grace period later', async () => {
    vi.useFakeTimers();
    const host = new NativeHost(new NativePort());
    host.warmUp();
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS - 1);
    expect(host.port.current.kind).toBe('ready');
    await vi.advanceTimersByTimeAsync(1);
    expect(host.port.current).toEqual({ kind: 'closed', reason: 'released' });
    expect(fakeBrowser.native.ports[0]!.closedByExtension).toBe(true);
  });
});
