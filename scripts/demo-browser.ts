/**
 * The whole browser flow against the ANAF stand-in, for a person to watch:
 *   npx tsx scripts/demo-browser.ts        (as root: it installs a Chromium policy for the test CA's client certificate)
 * Headful when $DISPLAY is set (the browser stays open until Enter), headless otherwise. Builds
 * the host and the extension, registers the host for a throw-away browser profile, clicks
 * "Obtain token" in the popup, then prints the token table and where the popup screenshot is.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline/promises';
import { buildAll, checkSystem } from '../test/e2e/support/build.js';
import { ROOT } from '../test/e2e/support/paths.js';
import { removeAutoSelectPolicy, writeAutoSelectPolicy } from '../test/e2e/support/policy.js';
import { waitForState } from '../test/e2e/support/popup.js';
import { createWorld, PROFILE } from '../test/e2e/support/world.js';

const say = (s: string) => process.stdout.write(`${s}\n`);

checkSystem();
say('building the native host and the extension…');
buildAll('ignore');
writeAutoSelectPolicy();
const display = process.env.DISPLAY ? { env: { DISPLAY: process.env.DISPLAY, XAUTHORITY: process.env.XAUTHORITY ?? '' }, stop: () => undefined } : undefined;
const world = await createWorld({ certificate: 'nss', ...(display ? { display } : {}) });
try {
  say(`Chromium ${display ? `on ${display.env.DISPLAY}` : '(headless)'} with the extension ${world.browser.extensionId}; ANAF stand-in at ${world.anaf.url}`);
  const popup = await world.openPopup();
  await waitForState(popup, PROFILE, 'none');
  const started = performance.now();
  await popup.getByTestId(`obtain-${PROFILE}`).click();
  await waitForState(popup, PROFILE, 'valid');
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const shot = path.join(ROOT, '.artifacts', 'demo', 'popup.png');
  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await popup.bringToFront();
  await popup.locator('body').screenshot({ path: shot });
  say(`\n"Obtain token" clicked → token in the vault in ${seconds} s; the callback host received ${world.erp.requests.length} requests.\n`);
  say((await world.cli(['list'])).stdout.trimEnd());
  say(`\npopup screenshot: ${shot}`);
  if (display && process.stdin.isTTY) {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    await rl.question('\nThe browser stays open: press Enter to close it. ');
    rl.close();
  }
} finally {
  await world.close();
  removeAutoSelectPolicy();
}
