/**
 * The real USB-key experience: the key on a PKCS#11 token (SoftHSM2) registered in Chromium's
 * NSS database, Chromium headful under Xvfb showing its own "Unlock Security Device" PIN dialog,
 * answered with xdotool as a user would type it. Runs as root with no display (CI).
 * Chromium keeps the token logged in, and remembers a cancelled PIN prompt, until it restarts:
 * the tests restart it where a fresh prompt is needed.
 */
import { X509Certificate } from 'node:crypto';
import { normalizeSerialHex } from '#shared/certificate-serial.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordTiming, screenshot, waitForState } from './support/popup.js';
import { closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';
import { answerPinDialog, cancelDialog, startDisplay, typePin, waitForPinDialog, type Display } from './support/xvfb.js';

const WRONG_PIN = '0000';

describe.skipIf(!process.env.ANAF_E2E)("USB key on a PKCS#11 token, PIN typed in Chromium's dialog (headful, Xvfb)", () => {
  let display: Display;
  let w: World;
  beforeAll(async () => {
    display = await startDisplay();
    w = await createWorld({ certificate: 'softhsm', display });
  });
  afterAll(() => closeAndExpectClean(w, () => display?.stop()));

  it('click obtain, type the PIN in the unlock dialog: the token is in the vault', async () => {
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'none');
    const started = performance.now();
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    await answerPinDialog(display, w.token!.pin);
    await waitForState(popup, PROFILE, 'valid');
    recordTiming('headful-softhsm click→token stored (incl. typing the PIN)', performance.now() - started);

    const [status] = await w.list();
    expect(status).toMatchObject({ state: 'valid', accessDaysLeft: 89 });
    // ANAF's token names only the serial: the host found the certificate with it on the USB token.
    expect(status?.certificate?.subject).toContain('CN=POPESCU ION');
    expect(status?.certificate?.serialHex).toBe(normalizeSerialHex(new X509Certificate(w.pki.client.certPem).serialNumber));
    expect(await popup.getByTestId(`holder-${PROFILE}`).textContent()).toBe('POPESCU ION');
    expect(w.erp.requests).toEqual([]);
    await screenshot(popup, 'popup-valid-usb-token');
    await popup.close();
  });

  it("options lists the token's certificates: the one Chromium logged in with, and the expired one with its warning", async () => {
    const [status] = await w.list();
    const loggedIn = /CN=([^,]+)/.exec(status?.certificate?.subject ?? '')?.[1];
    expect(loggedIn).toBe('POPESCU ION');

    const options = await w.browser.context.newPage();
    await options.goto(w.extensionUrl('options.html'));
    await options.getByTestId('certs-refresh').click();
    const cert = options.getByTestId('cert-01');
    await cert.waitFor({ timeout: 30_000 });
    expect(await options.getByTestId('cert-holder-01').textContent()).toBe(loggedIn);
    expect(await options.getByTestId('cert-serial-01').textContent()).toMatch(/^[0-9A-F]+$/);
    expect(await options.getByTestId('cert-warnings-01').locator('[data-warning="expired"]').count()).toBe(0);
    const expiredWarning = options.getByTestId('cert-warnings-03').locator('[data-warning="expired"]');
    expect(await expiredWarning.textContent()).toBe('expired: ANAF will refuse it');
    expect(await options.getByTestId('certs-none').isHidden()).toBe(true);
    await expect.poll(() => options.getByTestId('certs-refresh').isEnabled()).toBe(true);
    await screenshot(options, 'options-certificates');

    // The optional PIN check signs a challenge with certificate 01's key; the field is cleared at once.
    await options.getByTestId('pin-input-01').fill(w.token!.pin);
    await options.getByTestId('pin-check-button-01').click();
    expect(await options.getByTestId('pin-input-01').inputValue()).toBe('');
    await expect.poll(() => options.getByTestId('pin-result-01').textContent()).toBe('PIN correct: the key signed a test challenge.');

    // The popup names the usable certificate before Obtain (the expired one is not offered).
    const popup = await w.openPopup();
    await expect.poll(() => popup.getByTestId('certs-summary').textContent()).toBe('Certificate on the token: POPESCU ION');
    await popup.close();
    await options.close();
  });

  it('a wrong PIN: Chromium asks again, the right one then gets a new token', async () => {
    await w.restartBrowser();
    w.resetStandin();
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'valid');
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    const first = await waitForPinDialog(display);
    await typePin(display, first, WRONG_PIN);
    const again = await waitForPinDialog(display, [first]);
    expect(w.anaf.counters.requests.authorize).toBe(0); // the handshake waits for a valid PIN
    await typePin(display, again, w.token!.pin);
    await expect.poll(() => w.anaf.counters.grants.authorization_code, { timeout: 20_000 }).toBe(1);
    await waitForState(popup, PROFILE, 'valid');
    await popup.getByTestId(`flow-${PROFILE}`).filter({ hasText: 'Token obtained' }).waitFor();
    expect(w.erp.requests).toEqual([]);
    await popup.close();
  });

  it('a wrong PIN, then the prompt cancelled: ANAF shows its page, the popup says what to do, no new token', async () => {
    await w.restartBrowser();
    w.resetStandin();
    const popup = await w.openPopup();
    await waitForState(popup, PROFILE, 'valid');
    const tabOpened = w.browser.context.waitForEvent('page');
    await popup.getByTestId(`obtain-${PROFILE}`).click();
    const tab = await tabOpened;
    const seen = [await waitForPinDialog(display)];
    await typePin(display, seen[0]!, WRONG_PIN);
    seen.push(await waitForPinDialog(display, seen));
    // The user gives up; Chromium asks once more after a cancelled signature, then goes on without a certificate.
    for (let i = 0; i < 3; i++) {
      await cancelDialog(display, seen.at(-1)!);
      const next = await waitForPinDialog(display, seen, 3_000).catch(() => undefined);
      if (!next) break;
      seen.push(next);
    }

    const error = popup.getByTestId(`error-${PROFILE}`);
    await error.waitFor({ timeout: 20_000 });
    expect(await error.textContent()).toContain('the PIN prompt was cancelled');
    expect(await error.textContent()).toContain('start it again');
    expect(await tab.title()).toBe('Access denied');
    expect(w.anaf.counters.grants.authorization_code).toBe(0);
    expect(w.erp.requests).toEqual([]);
    await screenshot(popup, 'popup-pin-cancelled');
    await tab.close();
    await expect.poll(() => popup.getByTestId(`flow-${PROFILE}`).count()).toBe(0);
    await popup.close();
  });
});
