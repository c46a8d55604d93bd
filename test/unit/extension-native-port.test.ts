/**
 * The background's kept native port (extension/src/background/native/native-port.ts) against a
 * fake `browser` and a scripted host: handshake, version mismatch, timeouts, a host that exits
 * mid-request or is missing, size caps, unknown ids, id-less refusals, reconnecting, and the
 * holds that keep it open and let it close (which ends the host).
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TO_BROWSER_BYTES, NATIVE_HOST_NAME, PROTOCOL_VERSION } from '#shared/protocol/messages.js';
import { fakeBrowser, HOST_VERSION, resetFakeBrowser, scriptedHost, settle, type FakeNativePort } from '../helpers/fake-browser.js';

vi.mock('webextension-polyfill', () => ({ default: fakeBrowser }));

const { NativePort, RELEASE_GRACE_MS } = await import('../../extension/src/background/native/native-port.js');
const { NativeHost } = await import('../../extension/src/background/native/host-port.js');
const { ExtError, HostError, toUiError } = await import('../../extension/src/shared/errors.js');

const PROFILES = { profiles: [] };
const lastPort = (): FakeNativePort => fakeBrowser.native.ports.at(-1)!;

/** The error a promise rejected with, or a failure if it resolved. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  resetFakeBrowser();
  fakeBrowser.native.script = scriptedHost({ status: PROFILES });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('native port: handshake', () => {
  it('says hello first, with the protocol; requests wait for it and then share the one port', async () => {
    fakeBrowser.native.script = scriptedHost({ status: PROFILES, 'certs.browser': { stores: [] } });
    const port = new NativePort();
    expect(port.current).toEqual({ kind: 'closed', reason: 'never-opened' });
    const first = port.request({ type: 'certs.browser' });
    expect(port.current.kind).toBe('connecting');
    expect(lastPort().name).toBe(NATIVE_HOST_NAME);
    expect(lastPort().posted.map((m) => m.type)).toEqual(['hello']);
    expect(lastPort().posted[0]).toMatchObject({ type: 'hello', protocol: PROTOCOL_VERSION });
    expect(await first).toEqual({ stores: [] });
    expect(port.current).toMatchObject({ kind: 'ready', hostVersion: HOST_VERSION });
    expect(await port.request({ type: 'status' })).toEqual(PROFILES);
    expect(fakeBrowser.native.ports).toHaveLength(1);
    expect(lastPort().posted.map((m) => m.type)).toEqual(['hello', 'certs.browser', 'status']);
    // Each request its own id.
    const ids = lastPort().posted.map((m) => m.id);
    expect(new Set(ids).size).toBe(3);
    port.hold('x')();
  });

  it('status, which changes no profile or token, goes right behind hello instead of waiting for its answer', async () => {
    let answerHello: (() => void) | undefined;
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'hello') answerHello = () => scriptedHost()(m, p);
      else scriptedHost({ status: PROFILES })(m, p);
    };
    const port = new NativePort();
    let answered = false;
    const status = port.request({ type: 'status' }).then((r) => ((answered = true), r));
    const refresh = rejection(port.request({ type: 'token.refresh', profile: 'firma' }));
    expect(lastPort().posted.map((m) => m.type)).toEqual(['hello', 'status']);
    await settle();
    // Answered by the host already, but held until hello proves the protocol.
    expect(answered).toBe(false);
    answerHello!();
    expect(await status).toEqual(PROFILES);
    await refresh;
    expect(lastPort().posted.map((m) => m.type)).toEqual(['hello', 'status', 'token.refresh']);
  });

  it('a host that speaks another protocol: HOST_OUTDATED naming both versions (ro/en), nothing but status sent, the port closed', async () => {
    fakeBrowser.native.script = (m, p) => p.answer({ id: m.id, ok: true, result: { protocol: PROTOCOL_VERSION + 1, hostVersion: '9.0.0' } });
    const port = new NativePort();
    const e = await rejection(port.request({ type: 'status' }));
    expect(e).toBeInstanceOf(ExtError);
    expect(toUiError(e)).toEqual({ source: 'extension', code: 'HOST_OUTDATED', params: ['9.0.0', '0.1.0'] });
    expect(port.current).toMatchObject({ kind: 'closed', reason: 'host-outdated' });
    // Status went behind hello (it reads nothing it could spoil); a refresh is never sent to that host.
    const refresh = rejection(port.request({ type: 'token.refresh', profile: 'firma' }));
    expect(toUiError(await refresh)).toMatchObject({ code: 'HOST_OUTDATED' });
    expect(fakeBrowser.native.ports.flatMap((p) => p.posted.map((m) => m.type))).toEqual(['hello', 'status', 'hello']);
    expect(lastPort().closedByExtension).toBe(true);
    for (const lang of ['ro', 'en']) {
      const catalogue = JSON.parse(fs.readFileSync(`extension/_locales/${lang}/messages.json`, 'utf8')) as Record<string, { message: string }>;
      expect(catalogue.error_HOST_OUTDATED?.message).toMatch(/\$P1\$[^]*\$P2\$/);
    }
  });

  it('no answer to hello in time: HOST_TIMEOUT, the port closed, the next request starts a new host', async () => {
    vi.useFakeTimers();
    let silent = true;
    fakeBrowser.native.script = (m, p) => {
      if (!silent) scriptedHost({ status: PROFILES })(m, p);
    };
    const port = new NativePort();
    const pending = rejection(port.request({ type: 'status' }));
    await vi.advanceTimersByTimeAsync(15_000);
    expect(toUiError(await pending)).toMatchObject({ code: 'HOST_TIMEOUT', params: ['15'] });
    expect(port.current).toMatchObject({ kind: 'closed', reason: 'handshake-failed' });
    expect(lastPort().closedByExtension).toBe(true);
    silent = false;
    expect(await port.request({ type: 'status' })).toEqual(PROFILES);
    expect(fakeBrowser.native.ports).toHaveLength(2);
  });
});

describe('native port: requests', () => {
  it('times out one request after its own limit, drops its late answer, and keeps serving', async () => {
    vi.useFakeTimers();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const held: { m: Record<string, unknown>; p: FakeNativePort }[] = [];
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'token.check') held.push({ m, p });
      else scriptedHost({ status: PROFILES })(m, p);
    };
    const port = new NativePort();
    const check = rejection(port.request({ type: 'token.check', profile: 'firma' }));
    await vi.advanceTimersByTimeAsync(44_999);
    expect(held).toHaveLength(1);
    expect(port.inFlight).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(toUiError(await check)).toMatchObject({ code: 'HOST_TIMEOUT', params: ['45'], detail: 'token.check' });
    // The answer comes after all: nobody waits for that id any more.
    held[0]!.p.answer({ id: held[0]!.m.id, ok: true, result: { profile: 'firma', result: 'ok', checkedAt: new Date().toISOString() } });
    await settle();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('no pending request'));
    expect(port.current.kind).toBe('ready');
    expect(await port.request({ type: 'status' })).toEqual(PROFILES);
  });

  it('a host that exits mid-request fails it at once with the reason, and the next request reconnects', async () => {
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'token.refresh') p.exit('Native host has exited.');
      else scriptedHost({ status: PROFILES })(m, p);
    };
    const port = new NativePort();
    const e = await rejection(port.request({ type: 'token.refresh', profile: 'firma', force: true }));
    expect(toUiError(e)).toEqual({ source: 'extension', code: 'HOST_FAILED', params: [], detail: 'Native host has exited.' });
    expect(port.current).toMatchObject({ kind: 'closed', reason: 'host-exited' });
    expect(port.inFlight).toBe(0);
    expect(await port.request({ type: 'status' })).toEqual(PROFILES);
    expect(fakeBrowser.native.ports).toHaveLength(2);
    expect(port.current.kind).toBe('ready');
  });

  it('every request in flight fails when the host crashes, not only the one that made it crash', async () => {
    const waiting: FakeNativePort[] = [];
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'hello') return scriptedHost()(m, p);
      waiting.push(p);
      if (waiting.length === 2) p.exit('Error when communicating with the native messaging host.');
    };
    const port = new NativePort();
    const a = rejection(port.request({ type: 'status' }));
    const b = rejection(port.request({ type: 'certs.browser' }));
    for (const e of [await a, await b])
      expect(toUiError(e)).toMatchObject({ code: 'HOST_FAILED', detail: 'Error when communicating with the native messaging host.' });
  });

  it('a missing host is HOST_MISSING with the install command; a forbidden one HOST_FORBIDDEN with this extension id', async () => {
    fakeBrowser.native.failConnect = 'Specified native messaging host not found.';
    const port = new NativePort();
    expect(toUiError(await rejection(port.request({ type: 'status' })))).toMatchObject({
      code: 'HOST_MISSING',
      params: [expect.stringMatching(/^anaf-token install --browser /)],
    });
    expect(port.current).toMatchObject({ kind: 'closed', reason: 'host-exited' });
    fakeBrowser.native.failConnect = 'Access to the specified native messaging host is forbidden.';
    expect(toUiError(await rejection(port.request({ type: 'status' })))).toMatchObject({
      code: 'HOST_FORBIDDEN',
      params: [expect.stringContaining(`--extension-id ${fakeBrowser.runtime.id}`)],
    });
    // Installed meanwhile: the next request reaches it.
    fakeBrowser.native.failConnect = undefined;
    expect(await port.request({ type: 'status' })).toEqual(PROFILES);
  });

  it('refuses a request the host would refuse before posting anything, and the port keeps serving', async () => {
    const port = new NativePort();
    await port.request({ type: 'status' });
    const tooLong = 'x'.repeat(2000);
    const e = await rejection(port.request({ type: 'certs.list', modules: [tooLong] }));
    expect(toUiError(e)).toMatchObject({ code: 'EXTENSION_FAILED', detail: 'invalid certs.list request' });
    expect(lastPort().requests('certs.list')).toEqual([]);
    expect(await port.request({ type: 'status' })).toEqual(PROFILES);
  });

  it('an answer over the size cap fails its request (HOST_BAD_ANSWER) and the port keeps serving', async () => {
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'certs.browser') p.answer({ id: m.id, ok: true, result: { stores: [], padding: 'x'.repeat(MAX_TO_BROWSER_BYTES) } });
      else scriptedHost({ status: PROFILES })(m, p);
    };
    const port = new NativePort();
    expect(toUiError(await rejection(port.request({ type: 'certs.browser' })))).toMatchObject({ code: 'HOST_BAD_ANSWER', detail: 'certs.browser: too large' });
    expect(port.current.kind).toBe('ready');
    expect(await port.request({ type: 'status' })).toEqual(PROFILES);
  });

  it('drops an answer for an id it never sent; the real answer still arrives', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'status') p.answer({ id: 'not-a-request-of-ours', ok: true, result: { profiles: 'garbage' } });
      scriptedHost({ status: PROFILES })(m, p);
    };
    const port = new NativePort();
    expect(await port.request({ type: 'status' })).toEqual(PROFILES);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('no pending request'));
  });

  it('an answer that does not fit its result schema fails that request only', async () => {
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'profile.remove') p.answer({ id: m.id, ok: true, result: { removed: 'yes' } });
      else scriptedHost({ status: PROFILES })(m, p);
    };
    const port = new NativePort();
    expect(toUiError(await rejection(port.request({ type: 'profile.remove', profile: 'firma' })))).toMatchObject({
      code: 'HOST_BAD_ANSWER',
      detail: 'profile.remove: removed',
    });
    expect(await port.request({ type: 'status' })).toEqual(PROFILES);
  });

  it("a typed error from the host is the request's failure, as the host said it", async () => {
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'token.refresh') p.answer({ id: m.id, ok: false, error: { code: 'PROFILE_NOT_FOUND', message: { en: 'No profile.', ro: 'Nu există.' } } });
      else scriptedHost()(m, p);
    };
    const e = await rejection(new NativePort().request({ type: 'token.refresh', profile: 'nope' }));
    expect(e).toBeInstanceOf(HostError);
    expect((e as InstanceType<typeof HostError>).code).toBe('PROFILE_NOT_FOUND');
  });

  it('an answer without an id (the host refused this extension) fails what is in flight with its error and closes the port', async () => {
    fakeBrowser.native.script = (_m, p) => {
      p.answer({ id: null, ok: false, error: { code: 'ORIGIN_NOT_ALLOWED', message: { en: 'Not allowed.', ro: 'Nu are voie.' } } });
    };
    const port = new NativePort();
    const e = await rejection(port.request({ type: 'status' }));
    expect(toUiError(e)).toMatchObject({ source: 'host', payload: { code: 'ORIGIN_NOT_ALLOWED' } });
    expect(port.current).toMatchObject({ kind: 'closed', reason: 'host-refused' });
  });

  it('answers out of order reach their own requests', async () => {
    const queue: { m: Record<string, unknown>; p: FakeNativePort }[] = [];
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'hello') scriptedHost()(m, p);
      else queue.push({ m, p });
    };
    const port = new NativePort();
    const removed = port.request({ type: 'profile.remove', profile: 'a' });
    const status = port.request({ type: 'status' });
    await vi.waitFor(() => expect(queue).toHaveLength(2));
    // The later one answered first (status went behind hello, so the removal is the later one).
    const [first, second] = queue;
    expect([first!.m.type, second!.m.type]).toEqual(['status', 'profile.remove']);
    second!.p.answer({ id: second!.m.id, ok: true, result: { removed: true } });
    first!.p.answer({ id: first!.m.id, ok: true, result: PROFILES });
    expect(await status).toEqual(PROFILES);
    expect(await removed).toEqual({ removed: true });
  });
});

describe('native port: holds and release', () => {
  it('opens when held, stays while held, and closes (ending the host) one grace period after the last holder leaves', async () => {
    vi.useFakeTimers();
    const port = new NativePort();
    const releasePopup = port.hold('popup');
    expect(fakeBrowser.native.ports).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(port.current.kind).toBe('ready');
    const releaseOptions = port.hold('options');
    releasePopup();
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS * 5);
    expect(port.current.kind).toBe('ready');
    releaseOptions();
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS - 1);
    expect(port.current.kind).toBe('ready');
    await vi.advanceTimersByTimeAsync(1);
    expect(port.current).toEqual({ kind: 'closed', reason: 'released' });
    expect(lastPort().closedByExtension).toBe(true);
    // A page opened later starts a new host.
    port.hold('popup again');
    expect(fakeBrowser.native.ports).toHaveLength(2);
  });

  it('a holder back within the grace keeps the same host', async () => {
    vi.useFakeTimers();
    const port = new NativePort();
    port.hold('popup')();
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS / 2);
    port.hold('options');
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS * 3);
    expect(port.current.kind).toBe('ready');
    expect(fakeBrowser.native.ports).toHaveLength(1);
  });

  it('a request in flight keeps the port past the last holder; it closes after the answer', async () => {
    vi.useFakeTimers();
    let answer: (() => void) | undefined;
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'token.refresh') answer = () => p.answer({ id: m.id, ok: true, result: null });
      else scriptedHost()(m, p);
    };
    const port = new NativePort();
    const release = port.hold('popup');
    const refresh = rejection(port.request({ type: 'token.refresh', profile: 'firma' }));
    await vi.advanceTimersByTimeAsync(0);
    release();
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS * 10);
    expect(port.current.kind).toBe('ready');
    expect(lastPort().closedByExtension).toBe(false);
    answer!();
    // (null is not a token status: the point here is only that an answer came.)
    expect(toUiError(await refresh)).toMatchObject({ code: 'HOST_BAD_ANSWER' });
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS);
    expect(port.current).toEqual({ kind: 'closed', reason: 'released' });
  });

  it('a request that timed out keeps the port until its late answer comes (the host may still be working on it)', async () => {
    vi.useFakeTimers();
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    let late: (() => void) | undefined;
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'token.refresh') late = () => p.answer({ id: m.id, ok: true, result: null });
      else scriptedHost()(m, p);
    };
    const port = new NativePort();
    const release = port.hold('popup');
    const refresh = rejection(port.request({ type: 'token.refresh', profile: 'firma' }));
    await vi.advanceTimersByTimeAsync(90_000);
    expect(toUiError(await refresh)).toMatchObject({ code: 'HOST_TIMEOUT' });
    release();
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS * 10);
    expect(port.current.kind).toBe('ready');
    late!();
    await vi.advanceTimersByTimeAsync(RELEASE_GRACE_MS);
    expect(port.current).toEqual({ kind: 'closed', reason: 'released' });
  });

  it('…but not forever: one more timeout later it is released anyway', async () => {
    vi.useFakeTimers();
    fakeBrowser.native.script = (m, p) => {
      if (m.type === 'hello') scriptedHost()(m, p);
    };
    const port = new NativePort();
    const refresh = rejection(port.request({ type: 'token.refresh', profile: 'firma' }));
    await vi.advanceTimersByTimeAsync(90_000);
    await refresh;
    await vi.advanceTimersByTimeAsync(90_000 - 1);
    expect(port.current.kind).toBe('ready');
    await vi.advanceTimersByTimeAsync(1 + RELEASE_GRACE_MS);
    expect(port.current).toEqual({ kind: 'closed', reason: 'released' });
  });

  it("a failure to open when held is kept as the closed state's reason", async () => {
    fakeBrowser.native.failConnect = 'Specified native messaging host not found.';
    const port = new NativePort();
    port.hold('popup');
    await settle();
    expect(port.current).toMatchObject({ kind: 'closed', reason: 'host-exited' });
    const closed = port.current;
    expect(closed.kind === 'closed' && toUiError(closed.error)).toMatchObject({ code: 'HOST_MISSING' });
  });
});

describe('NativeHost', () => {
  it('sends pin.check as its own host process, after the port checked the version; never over the kept port', async () => {
    fakeBrowser.native.script = scriptedHost({ status: PROFILES, 'pin.check': { ok: true } });
    const host = new NativeHost(new NativePort());
    const r = await host.request({ type: 'pin.check', module: '/usr/lib/x.so', tokenSerial: '1', certId: '01', pin: '1234' });
    expect(r).toEqual({ ok: true });
    expect(fakeBrowser.native.oneShots.map((m) => m.type)).toEqual(['pin.check']);
    expect(fakeBrowser.native.ports.flatMap((p) => p.posted.map((m) => m.type))).toEqual(['hello']);
    await host.request({ type: 'status' });
    expect(fakeBrowser.native.oneShots).toHaveLength(1);
  });
});
