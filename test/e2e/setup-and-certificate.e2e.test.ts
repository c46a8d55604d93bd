/**
 * A new user's path — the native host not installed yet, then installed with the command the
 * popup shows, then a profile added in the options page — and a browser with no certificate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIRECT_URI } from './support/paths.js';
import { closeTabsTitled, extensionStorageDump, screenshot, sessionRuleCount, tabTitles, waitForState } from './support/popup.js';
import { CLIENT_ID, closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';

describe.skipIf(!process.env.ANAF_E2E)('first use: host missing, then installed, profile from the options page', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld({ certificate: 'nss', hostInstalled: false, profile: false });
  });
  afterAll(() => closeAndExpectClean(w));

  it('host not installed: the popup shows the exact install command', async () => {
    const popup = await w.openPopup();
    const banner = popup.getByTestId('host-error');
    await banner.waitFor();
    const text = (await banner.textContent()) ?? '';
    expect(text).toContain('not installed');
    // Debian's Chromium reports itself as Chromium: the command names that browser.
    expect(await banner.getByTestId('command').textContent()).toBe('anaf-token install --browser chromium');
    expect(await popup.getByTestId('no-profiles').isVisible()).toBe(false);
    await screenshot(popup, 'popup-host-missing');
    await popup.close();
  });

  it('after running the install command the same browser reaches the host', async () => {
    // What the user runs (the test's browser uses its own user data dir, hence --user-data-dir).
    const r = await w.cli(['install', '--user-data-dir', w.userDataDir]);
    expect(r.code, r.stderr).toBe(0);
    const popup = await w.openPopup();
    await popup.getByTestId('no-profiles').waitFor();
    expect(await popup.getByTestId('host-error').isVisible()).toBe(false);
    await popup.close();
  });

  it('a profile saved in the options page goes to the host (secret never in extension storage) and works', async () => {
    const options = await w.browser.context.newPage();
    await options.goto(w.extensionUrl('options.html'));
    await options.getByTestId('field-name').fill(PROFILE);
    await options.getByTestId('field-client-id').fill(CLIENT_ID);
    await options.getByTestId('field-client-secret').fill(w.clientSecret);
    await options.getByTestId('field-redirect-uri').fill(REDIRECT_URI);
    expect(await options.getByTestId('field-env-url').isVisible()).toBe(false);
    await options.getByTestId('field-env').selectOption('custom');
    await options.getByTestId('field-env-url').fill(w.anaf.url);
    await options.getByTestId('save-profile').click();
    await expect.poll(() => options.getByTestId('form-status').textContent()).toContain(`Profile ${PROFILE} saved`);
    await options.getByTestId(`profile-row-${PROFILE}`).waitFor();
    expect(await options.getByTestId('field-client-secret').inputValue()).toBe('');
    await screenshot(options, 'options-saved');

    const profiles = JSON.parse((await w.cli(['profile', 'list', '--json'])).stdout) as { name: string; env: string; redirectUri: string }[];
    expect(profiles).toEqual([expect.objectContaining({ name: PROFILE, env: w.anaf.url, redirectUri: REDIRECT_URI })]);
    expect(await extensionStorageDump(w.browser.worker)).not.toContain(w.clientSecret);
    await options.close();

    // The secret the host received is the one ANAF accepts: the whole flow works.
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    await waitForState(popup, PROFILE, 'valid');
    expect((await w.list())[0]).toMatchObject({ state: 'valid', accessDaysLeft: 89 });
    expect(w.erp.requests).toEqual([]);
    await popup.close();
  });
});

describe.skipIf(!process.env.ANAF_E2E)('no certificate in the browser', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld({ certificate: 'none' });
  });
  afterAll(() => closeAndExpectClean(w));

  it('ANAF shows its own page: the popup says so at once; closing the tab ends the flow with that reason', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const tabOpened = w.browser.context.waitForEvent('page');
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    const tab = await tabOpened;

    const error = popup.getByTestId(`error-${PROFILE}`);
    await error.waitFor({ timeout: 20_000 });
    expect(await error.textContent()).toContain('showed its own page instead of returning');
    expect(await error.textContent()).toContain('no certificate was presented');
    // Still waiting (ANAF could go on); the ANAF tab shows its access-denied page.
    expect(await popup.getByTestId(`flow-${PROFILE}`).textContent()).toContain('Waiting for ANAF');
    expect(await tab.textContent('h1')).toBe('Access denied');
    await screenshot(popup, 'popup-no-certificate');

    // The user can start again at once (after inserting the key): the old ANAF tab is replaced.
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    await expect.poll(() => tab.isClosed()).toBe(true);
    await expect.poll(() => tabTitles(w.browser.worker), { timeout: 30_000 }).toContain('Access denied');
    await error.waitFor({ timeout: 20_000 });
    expect(w.anaf.counters.requests.authorize).toBe(2);

    await closeTabsTitled(w.browser.worker, 'Access denied');
    await expect.poll(() => popup.getByTestId(`flow-${PROFILE}`).count()).toBe(0);
    expect(await error.textContent()).toContain('no certificate was presented');
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    expect((await w.list())[0]?.state).toBe('none');
    expect(w.anaf.counters.requests.token).toBe(0);
    expect(w.erp.requests).toEqual([]);
    await popup.close();
  });
});
