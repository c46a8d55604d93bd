/**
 * Issue 12, "ask the certificate holder from afar", end to end. Two sides that share nothing but
 * the texts a person would carry between them:
 *   - the requester: the real CLI with its own data folder and profile (`request create`,
 *     `request import`, `token`);
 *   - the holder: Chromium with the extension and the client certificate (NSS, picked by the
 *     managed policy) and NO native host, in its own user data dir.
 * Create → open the link → consent → certificate → answer → import → `token` equals what the
 * stand-in issued; the callback host gets no request; the holder's profile directory keeps no
 * secret, code or token (scanned after the browser exits). Then the refusals a browser shows.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeSerialHex } from '#shared/certificate-serial.js';
import { splitLink } from '#shared/request/format.js';
import { extensionStorageDump, sessionRuleCount } from './support/popup.js';
import { historyUrls, profileTraces, type Secret } from './support/profile-traces.js';
import { readQrOnPage } from './support/qr-on-page.js';
import { CLIENT_ID, closeAndExpectClean, createWorld, PROFILE, type World } from './support/world.js';
import { REDIRECT_URI } from './support/paths.js';

let w: World;
let outDir: string;

interface Created {
  id: string;
  link: string;
  file: string;
  expiresAt: string;
}

async function create(extra: string[] = [], input?: string): Promise<Created> {
  const r = await w.cli(
    ['request', 'create', '--profile', PROFILE, '--json', '--out', path.join(outDir, `req-${Date.now()}-${Math.random()}.txt`), ...extra],
    input,
  );
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Created;
}

async function openLink(link: string): Promise<Page> {
  const page = await w.browser.context.newPage();
  await page.goto(link);
  return page;
}

describe.skipIf(!process.env.ANAF_E2E)('request link answered by the extension alone (headless, NSS certificate, no native host)', () => {
  beforeAll(async () => {
    w = await createWorld({ certificate: 'nss', hostInstalled: false });
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-e2e-requests-'));
  });
  afterAll(async () => {
    fs.rmSync(outDir, { recursive: true, force: true });
    await closeAndExpectClean(w);
  });

  it('create → open → consent → certificate → answer → import: `token` is what the stand-in issued; the holder keeps nothing', async () => {
    // No native host for this browser: no host manifest where Chromium looks for one.
    const hostDir = path.join(w.userDataDir, 'NativeMessagingHosts');
    expect(fs.existsSync(hostDir) ? fs.readdirSync(hostDir) : []).toEqual([]);
    const made = await create(['--valid', '1h', '--note', 'Contabilitate, Ana (e2e)']);
    expect(made.link).toMatch(/^chrome-extension:\/\/[a-p]{32}\/request\.html#ar1\./);
    expect(made.link).not.toContain(w.clientSecret);
    expect(fs.readFileSync(made.file, 'utf8').trim()).toBe(made.link);
    expect(Date.parse(made.expiresAt) - Date.now()).toBeGreaterThan(59 * 60_000);
    console.info(`request link: ${made.link.length} characters`);

    // Pasted into the popup (a mail program may not let the holder click it): the worker holds
    // the link and opens the page with a one-time ticket, so the link never reaches History.
    const popup = await w.openPopup();
    await popup.getByTestId('request-paste').fill(made.link);
    const opened = w.browser.context.waitForEvent('page');
    await popup.getByTestId('request-open').click();
    const page = await opened;
    await popup.close();
    const details = page.getByTestId('request-details');
    await expect.poll(() => details.isVisible()).toBe(true);
    const text = (await details.textContent()) ?? '';
    expect(text).toContain(CLIENT_ID);
    expect(text).toContain(REDIRECT_URI);
    expect(text).toContain('Contabilitate, Ana (e2e)');
    expect(text).toContain(w.anaf.url);

    const started = performance.now();
    await page.getByTestId('request-approve').click();
    const answerBox = page.getByTestId('request-answer');
    await expect.poll(() => answerBox.isVisible(), { timeout: 30_000 }).toBe(true);
    const answer = await answerBox.inputValue();
    console.info(`consent click → answer shown: ${Math.round(performance.now() - started)} ms; answer: ${answer.length} characters`);
    expect(answer).toMatch(/^ara1\./);
    // The QR code beside it carries the very answer (tokens of ANAF's size fit in one).
    expect(await readQrOnPage(page.getByTestId('request-qr'))).toBe(answer);
    expect(w.anaf.counters.requests.authorize).toBe(1);
    expect(w.anaf.counters.grants.authorization_code).toBe(1);
    // The code never left the browser: the callback host got no request at all.
    expect(w.erp.requests).toEqual([]);
    // The authorization tab closed; its rule is gone; the extension stored nothing.
    await expect
      .poll(() =>
        w.browser.context
          .pages()
          .filter((p) => p !== page && p.url() !== 'about:blank')
          .map((p) => p.url()),
      )
      .toEqual([]);
    expect(await sessionRuleCount(w.browser.worker)).toBe(0);
    const issued = [w.clientSecret, ...w.anaf.issued.codes, ...w.anaf.issued.accessTokens, ...w.anaf.issued.refreshTokens];
    const stored = await extensionStorageDump(w.browser.worker);
    for (const s of issued) expect(stored.includes(s)).toBe(false);
    const html = await page.content();
    for (const s of issued) expect(html.includes(s)).toBe(false);

    // The requester imports it (standard input), and the token is the stand-in's.
    const imported = await w.cli(['request', 'import', '-', '--json'], answer);
    expect(imported.code, imported.stderr).toBe(0);
    const result = JSON.parse(imported.stdout) as { id: string; profile: string; certificate: { serialHex?: string } };
    const serial = normalizeSerialHex(new X509Certificate(w.pki.client.certPem).serialNumber)!;
    expect(result).toMatchObject({ id: made.id, profile: PROFILE, certificate: { serialHex: serial } });
    const token = await w.cli(['token', '--profile', PROFILE]);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim()).toBe(w.anaf.issued.accessTokens.at(-1));
    const [status] = await w.list();
    expect(status).toMatchObject({ state: 'valid', stateEchoed: true, certificate: { serialHex: serial, source: 'jwt' } });

    // A replayed answer is refused.
    const replay = await w.cli(['request', 'import', '-', '--json'], answer);
    expect(replay.code).not.toBe(0);
    expect((JSON.parse(replay.stdout) as { error: { code: string } }).error.code).toBe('REQUEST_USED');
    const listed = JSON.parse((await w.cli(['request', 'list', '--json'])).stdout) as { id: string; status: string; certificateSerial?: string }[];
    expect(listed.find((r) => r.id === made.id)).toMatchObject({ status: 'used', certificateSerial: serial });

    // The holder's profile directory, after the browser exits: no secret, code or token, nor the link's key.
    await page.close();
    await w.browser.close();
    const secrets: Secret[] = [
      { label: 'client secret', value: w.clientSecret },
      ...w.anaf.issued.codes.map((value) => ({ label: 'code', value })),
      ...w.anaf.issued.accessTokens.map((value) => ({ label: 'access token', value })),
      ...w.anaf.issued.refreshTokens.map((value) => ({ label: 'refresh token', value })),
      { label: 'link key', value: splitLink(made.link).key },
    ];
    // Measured for the report: the answer is sealed to the requester, so a copy of it opens nothing.
    const answerTraces = profileTraces(w.userDataDir, [{ label: 'answer', value: answer.slice(-200) }]);
    console.info(`files holding the sealed answer: ${answerTraces.map((t) => t.where).join(', ') || 'none'}`);
    const traces = profileTraces(w.userDataDir, secrets);
    const urls = historyUrls(path.join(w.userDataDir, 'Default')).map((u) => secrets.reduce((t, s) => t.split(s.value).join(`<${s.label}>`), u));
    expect(traces, `History has: ${urls.join(' | ')}`).toEqual([]);
    expect(urls.filter((u) => u.includes('#'))).toEqual([]);
    await w.restartBrowser();
  });

  it('refusals in the browser: a changed link, a wrong passphrase, decline (nothing sent), an expired link', async () => {
    const before = w.anaf.counters.requests.authorize;
    const made = await create(['--passphrase'], 'mar-7-pere\n');

    // One character changed in the link's body.
    const i = made.link.indexOf('#ar1.') + 20;
    const changed = made.link.slice(0, i) + (made.link[i] === 'A' ? 'B' : 'A') + made.link.slice(i + 1);
    const bad = await openLink(changed);
    await expect.poll(() => bad.getByTestId('request-error').getAttribute('data-code')).toBe('REQUEST_TAMPERED');
    expect(await bad.getByTestId('request-details').isVisible()).toBe(false);
    await bad.close();

    // The right link, a wrong passphrase: refused before any tab opens.
    const page = await openLink(made.link);
    await expect.poll(() => page.getByTestId('request-passphrase').isVisible()).toBe(true);
    await page.getByTestId('request-passphrase').fill('mar-7-pera');
    await page.getByTestId('request-approve').click();
    await expect.poll(() => page.getByTestId('request-error').getAttribute('data-code')).toBe('REQUEST_PASSPHRASE_WRONG');
    // Opened directly, the link is in History with its key: the holder removes it from there.
    expect(await page.getByTestId('request-history').isVisible()).toBe(true);
    await page.getByTestId('request-forget').click();
    await expect.poll(() => page.getByTestId('request-forget').isVisible()).toBe(false);
    // Decline: nothing goes to ANAF.
    await page.getByTestId('request-decline').click();
    await expect.poll(() => page.getByTestId('request-progress').isVisible()).toBe(true);
    expect(await page.getByTestId('request-details').isVisible()).toBe(false);
    await page.close();
    expect(w.anaf.counters.requests.authorize).toBe(before);
    const cancelled = await w.cli(['request', 'cancel', made.id, '--json']);
    expect(cancelled.code, cancelled.stderr).toBe(0);

    // Pasted into the popup (no host: the paste field works all the same), an expired link is refused.
    const short = await create(['--valid', '5m']);
    const popup = await w.openPopup();
    await popup.getByTestId('request-paste').fill(`Bună ziua, vă rog: ${short.link} Mulțumesc`);
    const opened = w.browser.context.waitForEvent('page');
    await popup.getByTestId('request-open').click();
    const fromPopup = await opened;
    await expect.poll(() => fromPopup.getByTestId('request-details').isVisible()).toBe(true);
    await fromPopup.close();
    await popup.getByTestId('request-paste').fill('not a link');
    await popup.getByTestId('request-open').click();
    await expect.poll(() => popup.getByTestId('request-paste-error').isVisible()).toBe(true);
    await popup.close();
    // The page reads the browser's clock: five minutes and a second later the same link is refused.
    const later = await w.browser.context.newPage();
    await later.clock.install({ time: Date.now() + 5 * 60_000 + 1000 });
    await later.goto(short.link);
    await expect.poll(() => later.getByTestId('request-error').getAttribute('data-code')).toBe('REQUEST_EXPIRED');
    await later.close();
    expect(w.erp.requests).toEqual([]);

    // History keeps no row with the key of the link the holder removed; the expired link, opened
    // directly and not removed, is still there (what the button is for).
    await w.browser.close();
    const urls = historyUrls(path.join(w.userDataDir, 'Default'));
    expect(urls.filter((u) => u.includes(splitLink(made.link).key))).toEqual([]);
    expect(urls.filter((u) => u.includes(splitLink(short.link).key)).length).toBeGreaterThan(0);
    await w.restartBrowser();
  });
});
