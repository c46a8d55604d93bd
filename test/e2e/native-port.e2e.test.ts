/**
 * The extension's kept native port with the real host, in headless Chromium: one host process
 * serves every open page and the flow, it ends after the last page closes, and a host killed
 * in the middle of a request is reported at once with the reason; the next request starts a
 * new one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { popupError } from './support/flow.js';
import { hostPids, hostsGone } from './support/host-processes.js';
import { waitForState } from './support/popup.js';
import { closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';

let w: World;
let home: string;

describe.skipIf(!process.env.ANAF_E2E)('the kept native port (headless, NSS certificate)', () => {
  beforeAll(async () => {
    w = await createWorld({ certificate: 'nss' });
    home = w.cliEnv.ANAF_TOKEN_HOME!;
  });
  afterAll(() => closeAndExpectClean(w));

  it('one host serves the popup, the options page and a flow; it ends after the last page closes', async () => {
    const popup = await w.openPopup();
    await expect.poll(() => popup.getByTestId('freshness').textContent()).toMatch(/^Updated /);
    const [pid, ...others] = hostPids(home);
    expect(others).toEqual([]);

    const options = await w.browser.context.newPage();
    await options.goto(w.extensionUrl('options.html'));
    await options.getByTestId(`profile-row-${PROFILE}`).waitFor();
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    await waitForState(popup, PROFILE, 'valid');
    expect(hostPids(home)).toEqual([pid]);

    // The options page still holds it.
    await popup.close();
    await new Promise((r) => setTimeout(r, 2_500));
    expect(hostPids(home)).toEqual([pid]);
    await options.close();
    // The port closes a second after the last page, and the host exits once its stdin ends.
    expect(await hostsGone(home, 10_000)).toBeLessThan(10_000);
  });

  it('a host killed mid-request: the request fails at once with the reason, and the next one starts a new host', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'valid');
    await expect.poll(() => popup.getByTestId('freshness').textContent()).toMatch(/^Updated /);
    const [pid] = hostPids(home);
    expect(pid).toBeDefined();

    // ANAF holds its answer to the check: the host is waiting on it when it is killed.
    w.anaf.setFaults({ delayMs: 30_000, endpoints: ['hello'], times: 1 });
    await popup.getByTestId(`check-${PROFILE}`).click();
    await expect.poll(() => w.anaf.counters.requests.hello).toBe(1);
    const killedAt = performance.now();
    process.kill(pid!, 'SIGKILL');
    const text = await popupError(popup);
    expect(performance.now() - killedAt).toBeLessThan(10_000);
    expect(text).toContain('stopped unexpectedly');
    expect(text).toContain('Native host has exited');

    w.anaf.clearFaults();
    await popup.getByTestId(`check-${PROFILE}`).click();
    await popup.getByTestId(`check-result-${PROFILE}`).waitFor();
    const now = hostPids(home);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(pid);
    await popup.close();
    await hostsGone(home, 10_000);
  });
});
