/**
 * Everything one e2e test file runs against, with no mocks between the parts: the test PKI,
 * the mTLS ANAF stand-in, a counting listener for the callback host, a temporary anaf-token
 * data folder, the real native host registered for the browser's user data dir with the real
 * CLI, a profile added through the CLI, and Chromium with the built extension.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { TokenStatus } from '#shared/schemas/token-status.js';
import { startAnafStandin, type AnafStandin } from '../../anaf-standin/server.js';
import { runCli, type CliResult } from '../../helpers/cli.js';
import { scanForSecrets } from '../../helpers/secret-scan.js';
import { makePki, type Pki } from '../../pki/make-pki.js';
import { launchBrowser, type ExtBrowser } from './browser.js';
import { startCountingListener, type CountingListener } from './counting-listener.js';
import { makeNssDb } from './nss.js';
import { ERP_HOST, REDIRECT_URI } from './paths.js';
import { makeSoftHsmToken, type SoftHsmToken } from './softhsm.js';
import type { Display } from './xvfb.js';

export const PROFILE = 'firma';
export const CLIENT_ID = 'e2e-client';
const DAY = 86_400;

export interface WorldOptions {
  /** Where the browser finds the client certificate: NSS (imported .p12), a SoftHSM token, or nowhere. */
  certificate?: 'nss' | 'softhsm' | 'none';
  /** false: no native host manifest in the user data dir (host "not installed"). */
  hostInstalled?: boolean;
  /** false: no profile yet (the options page adds it). */
  profile?: boolean;
  /** A display for a headful browser; headless when absent. */
  display?: Display;
  /** Debian's Chromium ships only en-US.pak (Romanian needs chromium-l10n), so its UI is English. */
  lang?: 'ro' | 'en';
}

export interface World {
  pki: Pki;
  anaf: AnafStandin;
  erp: CountingListener;
  /** The running browser; replaced by restartBrowser(). */
  readonly browser: ExtBrowser;
  clientSecret: string;
  token: SoftHsmToken | undefined;
  /** The browser's --user-data-dir (where it looks for the native host manifest). */
  userDataDir: string;
  cliEnv: NodeJS.ProcessEnv;
  cli(args: string[], input?: string): Promise<CliResult>;
  /** The vault's view through the real CLI (`anaf-token list --json`). */
  list(): Promise<TokenStatus[]>;
  extensionUrl(page: string): string;
  openPopup(): Promise<Page>;
  /** Quits Chromium and starts it again on the same profile (its in-memory TLS/PIN state is gone). */
  restartBrowser(): Promise<void>;
  /** Resets the stand-in between tests. */
  resetStandin(): void;
  /** Closes everything and reports what must be empty: secrets found in logs or console output, uncaught page errors. */
  close(): Promise<{ leaks: string[]; pageErrors: string[] }>;
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `anaf-e2e-${prefix}-`));
}

/** One PKI for all e2e files (generation takes seconds); makePki reuses it when still valid. */
export function e2ePki(): Promise<Pki> {
  return makePki(path.join(os.tmpdir(), 'anaf-e2e-pki'), { serverNames: [ERP_HOST] });
}

export async function createWorld(opts: WorldOptions = {}): Promise<World> {
  const certificate = opts.certificate ?? 'nss';
  const pki = await e2ePki();
  const clientSecret = `e2e-secret-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret, redirectUris: [REDIRECT_URI] }] });
  const erp = await startCountingListener(pki);
  const dirs = { anafHome: tempDir('anafhome'), browserHome: tempDir('browserhome'), udd: tempDir('udd'), token: tempDir('softhsm') };

  // Beside the login certificate (CKA_ID 01) the token carries an expired one (03), as users' tokens often do.
  const expired = { id: '03', label: pki.expiredClient.commonName, certFile: pki.expiredClient.certFile };
  const token = certificate === 'softhsm' ? makeSoftHsmToken(dirs.token, pki.client, '1234', [expired]) : undefined;
  makeNssDb(dirs.browserHome, {
    caFile: pki.ca.certFile,
    ...(certificate === 'nss' ? { p12File: pki.client.p12File } : {}),
    ...(token ? { softhsmConf: token.conf } : {}),
  });

  // The same environment for the CLI and for the host Chromium starts: one vault, the test CA.
  const cliEnv: NodeJS.ProcessEnv = { ANAF_TOKEN_HOME: dirs.anafHome, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile };
  const cli = (args: string[], input?: string) => runCli(args, cliEnv, input);

  if (opts.hostInstalled !== false) {
    const r = await cli(['install', '--user-data-dir', dirs.udd]);
    if (r.code !== 0) throw new Error(`anaf-token install failed: ${r.stderr}`);
  }
  if (opts.profile !== false) {
    const r = await cli(
      ['profile', 'add', '--name', PROFILE, '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT_URI, '--env', anaf.url],
      `${clientSecret}\n`,
    );
    if (r.code !== 0) throw new Error(`anaf-token profile add failed: ${r.stderr}`);
  }

  const launch = () =>
    launchBrowser({
      userDataDir: dirs.udd,
      home: dirs.browserHome,
      erpPort: erp.port,
      headless: opts.display === undefined,
      lang: opts.lang ?? 'en',
      env: {
        ANAF_TOKEN_HOME: dirs.anafHome,
        ANAF_TOKEN_KEYSTORE: 'file',
        NODE_EXTRA_CA_CERTS: pki.ca.certFile,
        ...(token ? { SOFTHSM2_CONF: token.conf } : {}),
        ...(opts.display ? opts.display.env : {}),
      },
    });
  let browser = await launch();
  const consoleSeen: string[] = [];

  const extensionUrl = (page: string) => `chrome-extension://${browser.extensionId}/${page}`;

  return {
    pki,
    anaf,
    erp,
    get browser() {
      return browser;
    },
    clientSecret,
    token,
    userDataDir: dirs.udd,
    cliEnv,
    cli,
    async list() {
      const r = await cli(['list', '--json']);
      if (r.code !== 0) throw new Error(`anaf-token list failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as TokenStatus[];
    },
    extensionUrl,
    async openPopup() {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 380, height: 640 });
      await page.goto(extensionUrl('popup.html'));
      return page;
    },
    async restartBrowser() {
      consoleSeen.push(...browser.console);
      await browser.close();
      browser = await launch();
    },
    resetStandin() {
      anaf.clearFaults();
      anaf.setOptions({
        accessTokenTtlSec: 90 * DAY,
        omitState: false,
        enrolledSubjects: undefined,
        deadGrantError: 'invalid_request',
        authorizeCacheControl: 'no-store',
      });
      anaf.resetCounters();
    },
    async close() {
      await browser.close().catch(() => undefined);
      const logFile = path.join(dirs.anafHome, 'logs', 'anaf-token.log');
      const logs = fs.existsSync(logFile) ? [fs.readFileSync(logFile, 'utf8')] : [];
      const consoleAll = [...consoleSeen, ...browser.console];
      const leaks = scanForSecrets([...logs, ...consoleAll], [clientSecret, ...anaf.issued.codes, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens]);
      await anaf.close();
      await erp.close();
      for (const d of Object.values(dirs)) fs.rmSync(d, { recursive: true, force: true });
      return { leaks, pageErrors: consoleAll.filter((l) => l.startsWith('[page error]')) };
    },
  };
}

/** Every e2e file ends the same way: close the world, then nothing may have leaked and no page thrown. */
export async function closeAndExpectClean(w: World | undefined, afterClose?: () => void): Promise<void> {
  const closed = await w?.close();
  afterClose?.();
  expect(closed?.leaks).toEqual([]);
  expect(closed?.pageErrors).toEqual([]);
}
