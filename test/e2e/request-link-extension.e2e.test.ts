/**
 * Issue 12 with the requester's side in the browser too. Two Chromium instances that share
 * nothing but the texts a person carries between them:
 *   - the requester's: the extension WITH its native host and the profile (no certificate):
 *     the options page makes the link; the popup imports the answer;
 *   - the holder's: the extension and the client certificate (NSS, picked by the managed policy),
 *     NO native host, in its own user data dir and HOME.
 * Options page → link (copy, file, QR) → holder's browser consents and answers → the requester's
 * popup takes the answer pasted inside a mail → `anaf-token token` equals what the stand-in issued.
 * With ANAF_SCREENSHOTS=<dir> it also saves the README's pictures there.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeSerialHex } from '#shared/certificate-serial.js';
import { splitLink } from '#shared/request/format.js';
import { launchBrowser, type ExtBrowser } from './support/browser.js';
import { makeNssDb } from './support/nss.js';
import { CLIENT_ID, closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';
import { readQrOnPage } from './support/qr-on-page.js';

const SHOTS = process.env.ANAF_SCREENSHOTS;
const WIDTH = 800;

let w: World;
let holder: ExtBrowser;
const holderDirs: string[] = [];

/** A README picture: `target` at about 800 px wide (a narrow one, the popup, drawn at `scale` times its size). */
async function shot(page: Page, name: string, target: Locator, scale = 1): Promise<void> {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  // A background tab renders no frames.
  await page.bringToFront();
  const box = (await target.boundingBox())!;
  const view = await page.evaluate(() => ({ width: document.documentElement.clientWidth, sx: window.scrollX, sy: window.scrollY }));
  const width = Math.min(WIDTH / scale, view.width);
  const x = Math.max(0, Math.min(box.x - (width - box.width) / 2, view.width - width));
  const cdp = await page.context().newCDPSession(page);
  try {
    const { data } = await cdp.send('Page.captureScreenshot', {
      format: 'png',
      captureBeyondViewport: true,
      clip: { x: x + view.sx, y: Math.max(0, box.y - 8) + view.sy, width, height: box.height + 16, scale },
    });
    fs.writeFileSync(path.join(SHOTS, `${name}.png`), Buffer.from(data, 'base64'));
  } finally {
    await cdp.detach();
  }
}

async function startHolder(): Promise<ExtBrowser> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-e2e-holderhome-'));
  const udd = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-e2e-holderudd-'));
  holderDirs.push(home, udd);
  makeNssDb(home, { caFile: w.pki.ca.certFile, p12File: w.pki.client.p12File });
  return launchBrowser({ userDataDir: udd, home, erpPort: w.erp.port, headless: true, lang: 'en', env: {} });
}

describe.skipIf(!process.env.ANAF_E2E)('request link made and imported in the extension (two browsers: requester with host, holder without)', () => {
  beforeAll(async () => {
    w = await createWorld({ certificate: 'none', hostInstalled: true });
    holder = await startHolder();
  });
  afterAll(async () => {
    const errors = holder?.console.filter((l) => l.startsWith('[page error]')) ?? [];
    await holder?.close();
    for (const d of holderDirs) fs.rmSync(d, { recursive: true, force: true });
    await closeAndExpectClean(w);
    expect(errors).toEqual([]);
  });

  it('options page: create → link, file, QR → holder answers → popup paste imports it → `token` is the stand-in’s; a replay is refused', async () => {
    const serial = normalizeSerialHex(new X509Certificate(w.pki.client.certPem).serialNumber)!;
    // The holder's browser has no native host to talk to: no host manifest where Chromium looks for one.
    const hostDir = path.join(holderDirs[1]!, 'NativeMessagingHosts');
    expect(fs.existsSync(hostDir) ? fs.readdirSync(hostDir) : []).toEqual([]);

    // --- Requester: the options page makes the link.
    const options = await w.browser.context.newPage();
    await options.setViewportSize({ width: 900, height: 900 });
    await options.goto(w.extensionUrl('options.html'));
    await expect.poll(() => options.getByTestId('request-profile').inputValue()).toBe(PROFILE);
    await options.getByTestId('request-note').fill('Contabilitate, Ana — pentru e-Factura');
    expect(await options.getByTestId('request-valid').inputValue()).toBe('300');
    await options.getByTestId('request-create').click();
    const linkBox = options.getByTestId('request-link');
    await expect.poll(() => linkBox.isVisible()).toBe(true);
    const link = await linkBox.inputValue();
    expect(link).toMatch(/^chrome-extension:\/\/[a-p]{32}\/request\.html#ar1\./);
    expect(link).not.toContain(w.clientSecret);
    expect(await linkBox.getAttribute('readonly')).not.toBeNull();
    expect(splitLink(link).key).toHaveLength(43);
    const id = (JSON.parse((await w.cli(['request', 'list', '--json'])).stdout) as { id: string }[])[0]!.id;

    // Copy: the clipboard took it (writeText resolved; reading it back needs a permission an extension page cannot be granted here).
    await options.getByTestId('request-copy').click();
    await expect.poll(() => options.getByTestId('request-copy').textContent()).toBe('Copied');
    // Save as file: a download of the link's text, named for the request.
    const download = options.waitForEvent('download');
    await options.getByTestId('request-save').click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`anaf-token-request-${id}.txt`);
    expect(fs.readFileSync(await file.path(), 'utf8')).toBe(`${link}\n`);
    // The QR code is an image of the link, drawn in the page.
    const qr = options.getByTestId('request-qr');
    expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    expect(await readQrOnPage(qr)).toBe(link);
    // The list shows it, open, with Cancel.
    const row = options.getByTestId(`request-row-${id}`);
    await expect.poll(() => row.isVisible()).toBe(true);
    expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('pending');
    expect(await row.getByTestId('request-cancel').isVisible()).toBe(true);
    await shot(options, 'request-create', options.locator('#requests-section'));

    // --- Holder: opens the link (as pasted into the address bar), consents, the certificate answers.
    const page = await holder.context.newPage();
    await page.setViewportSize({ width: WIDTH, height: 900 });
    await page.goto(link);
    const details = page.getByTestId('request-details');
    await expect.poll(() => details.isVisible()).toBe(true);
    const text = (await details.textContent()) ?? '';
    expect(text).toContain(CLIENT_ID);
    expect(text).toContain('Contabilitate, Ana');
    await shot(page, 'request-details', page.locator('main'));
    await page.getByTestId('request-approve').click();
    const answerBox = page.getByTestId('request-answer');
    await expect.poll(() => answerBox.isVisible(), { timeout: 30_000 }).toBe(true);
    const answer = await answerBox.inputValue();
    expect(answer).toMatch(/^ara1\./);
    await shot(page, 'request-answer', page.locator('main'));
    expect(w.anaf.counters.grants.authorization_code).toBe(1);
    expect(w.erp.requests).toEqual([]);

    // --- Requester: the answer pasted into the popup, inside the mail it came in.
    const popup = await w.openPopup();
    await popup.getByTestId('request-paste').fill(`Bună ziua,\n\niată răspunsul:\n\n${answer}\n\nO zi bună,\nIon`);
    await popup.getByTestId('request-open').click();
    const result = popup.getByTestId('request-import-result');
    await expect.poll(() => result.getAttribute('data-state'), { timeout: 30_000 }).toBe('ok');
    expect(await result.textContent()).toBe(`Token stored for profile ${PROFILE}, certificate serial ${serial}.`);
    // No new page opened for it: an answer is not a link.
    expect(await popup.getByTestId('request-paste').inputValue()).toBe('');
    await shot(popup, 'request-import', popup.locator('body'), 2);

    const token = await w.cli(['token', '--profile', PROFILE]);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim()).toBe(w.anaf.issued.accessTokens.at(-1));
    const [status] = await w.list();
    expect(status).toMatchObject({ state: 'valid', stateEchoed: true, certificate: { serialHex: serial, source: 'jwt' } });

    // The same answer again: refused, in the popup's language.
    await popup.getByTestId('request-paste').fill(answer);
    await popup.getByTestId('request-open').click();
    await expect.poll(() => result.getAttribute('data-code')).toBe('REQUEST_USED');
    expect(await result.getAttribute('data-state')).toBe('error');
    // Cut short: tampered, and nothing sent to the host as a link.
    await popup.getByTestId('request-paste').fill(answer.slice(0, 100));
    await popup.getByTestId('request-open').click();
    await expect.poll(() => result.getAttribute('data-code')).toBe('REQUEST_TAMPERED');
    await popup.close();

    // The options page's list: answered, with the certificate's serial, no Cancel.
    await options.reload();
    await expect.poll(() => row.locator('[data-status]').getAttribute('data-status')).toBe('used');
    expect(await row.textContent()).toContain(serial);
    expect(await row.getByTestId('request-cancel').count()).toBe(0);
    await page.close();
    await options.close();
  });

  it('options page: a passphrase typed twice (a mismatch is refused), the link needs it, Cancel makes its answer refused', async () => {
    const options = await w.browser.context.newPage();
    await options.goto(w.extensionUrl('options.html'));
    await expect.poll(() => options.getByTestId('request-profile').inputValue()).toBe(PROFILE);
    await options.getByTestId('request-valid').selectOption('60');
    await options.getByTestId('request-passphrase').fill('mar-7-pere');
    await options.getByTestId('request-passphrase-again').fill('mar-7-pera');
    await options.getByTestId('request-create').click();
    await expect.poll(() => options.getByTestId('request-status').textContent()).toBe('The two passphrases differ.');
    expect(await options.getByTestId('request-made').isVisible()).toBe(false);
    await options.getByTestId('request-passphrase').fill('mar-7-pere');
    await options.getByTestId('request-passphrase-again').fill('mar-7-pere');
    await options.getByTestId('request-create').click();
    const linkBox = options.getByTestId('request-link');
    await expect.poll(() => linkBox.isVisible()).toBe(true);
    const link = await linkBox.inputValue();
    // The fields are cleared once sent.
    expect(await options.getByTestId('request-passphrase').inputValue()).toBe('');
    const listed = JSON.parse((await w.cli(['request', 'list', '--json'])).stdout) as {
      id: string;
      passphrase: boolean;
      expiresAt: string;
      createdAt: string;
    }[];
    const made = listed[0]!;
    expect(made.passphrase).toBe(true);
    expect(Date.parse(made.expiresAt) - Date.parse(made.createdAt)).toBe(3_600_000);

    // The holder answers with the passphrase.
    const page = await holder.context.newPage();
    await page.goto(link);
    await expect.poll(() => page.getByTestId('request-passphrase').isVisible()).toBe(true);
    await page.getByTestId('request-passphrase').fill('mar-7-pere');
    await page.getByTestId('request-approve').click();
    const answerBox = page.getByTestId('request-answer');
    await expect.poll(() => answerBox.isVisible(), { timeout: 30_000 }).toBe(true);
    const answer = await answerBox.inputValue();
    await page.close();

    // Cancelled before the answer comes back: the popup refuses it.
    const row = options.getByTestId(`request-row-${made.id}`);
    await row.getByTestId('request-cancel').click();
    await expect.poll(() => row.locator('[data-status]').getAttribute('data-status')).toBe('cancelled');
    const popup = await w.openPopup();
    await popup.getByTestId('request-paste').fill(answer);
    await popup.getByTestId('request-open').click();
    await expect.poll(() => popup.getByTestId('request-import-result').getAttribute('data-code')).toBe('REQUEST_CANCELLED');
    await popup.close();
    await options.close();
    expect(w.erp.requests).toEqual([]);
  });
});
