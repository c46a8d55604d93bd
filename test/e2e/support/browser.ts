/**
 * Debian's Chromium with the built extension loaded, an isolated HOME (its NSS database) and
 * user data dir (where the native host manifest is looked up). Its environment reaches the
 * native host that Chromium starts, so the host uses the test vault and trusts the test CA.
 */
import { chromium, type BrowserContext, type Worker } from 'playwright-core';
import { CHROMIUM, ERP_HOST, EXT_DIR } from './paths.js';

export interface BrowserOptions {
  userDataDir: string;
  home: string;
  erpPort: number;
  /** Extra environment for the browser and the native host it starts. */
  env: Record<string, string>;
  headless: boolean;
  lang: 'ro' | 'en';
}

export interface ExtBrowser {
  context: BrowserContext;
  extensionId: string;
  worker: Worker;
  /** Console output of the extension (pages and service worker) and page errors, for the secret scan. */
  console: string[];
  close(): Promise<void>;
}

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function launchBrowser(o: BrowserOptions): Promise<ExtBrowser> {
  const context = await chromium.launchPersistentContext(o.userDataDir, {
    executablePath: CHROMIUM,
    headless: o.headless,
    args: [
      ...FLAGS,
      `--disable-extensions-except=${EXT_DIR}`,
      `--load-extension=${EXT_DIR}`,
      `--host-resolver-rules=MAP ${ERP_HOST} 127.0.0.1:${o.erpPort}`,
      `--lang=${o.lang}`,
    ],
    env: { ...process.env, HOME: o.home, LANGUAGE: o.lang, ...o.env },
    viewport: { width: 1100, height: 760 },
    timeout: 30_000,
  });
  const consoleLines: string[] = [];
  context.on('console', (m) => consoleLines.push(m.text()));
  const isOurs = (w: Worker) => w.url().startsWith('chrome-extension://');
  const worker = context.serviceWorkers().find(isOurs) ?? (await context.waitForEvent('serviceworker', { predicate: isOurs, timeout: 15_000 }));
  context.on('weberror', (e) => consoleLines.push(`[page error] ${e.error().message}`));
  // ANAF_E2E_CONSOLE=1 shows the extension's console (service worker included) while debugging.
  if (process.env.ANAF_E2E_CONSOLE) context.on('console', (m) => process.stderr.write(`[console ${m.type()}] ${m.text()}\n`));
  return {
    context,
    extensionId: new URL(worker.url()).host,
    worker,
    console: consoleLines,
    close: () => context.close(),
  };
}
