/**
 * A data folder with one authorized profile whose e-Factura / e-Transport API is the stand-in's
 * /test environment (set with `profile add … --api`), for the gateway tests: the CLI and serve
 * run as separate processes on it, and the Gateway can be opened in-process on the same folder.
 */
import { openAuthorize } from './browser.js';
import { runCli, type CliResult } from './cli.js';
import { tempDir } from './temp.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { App } from '../../native-host/src/app.js';
import { resolvePaths } from '../../native-host/src/config/paths.js';
import type { Logger } from '../../native-host/src/log/logger.js';

export const CLIENT_ID = 'gateway-client';
export const CLIENT_SECRET = `gateway-secret-${Math.random().toString(36).slice(2)}`;
export const REDIRECT = 'https://erp.example.ro/anaf/callback';
export const CIF = '12345678';

export const invoice = (id: string, extra = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>${id}</cbc:ID><cbc:IssueDate>2026-11-30</cbc:IssueDate>${extra}</Invoice>`;

/** Fast pacing for tests: every job due again at once. */
export const FAST_TIMING: Record<string, string> = {
  ANAF_TOKEN_GATEWAY_POLL_MS: '1',
  ANAF_TOKEN_GATEWAY_POLL_MAX_MS: '50',
  ANAF_TOKEN_GATEWAY_RETRY_MS: '1',
  ANAF_TOKEN_GATEWAY_RETRY_MAX_MS: '50',
  ANAF_TOKEN_GATEWAY_CHECK_MS: '1',
  ANAF_TOKEN_GATEWAY_IDLE_MS: '50',
};

export interface GatewayWorld {
  pki: Pki;
  anaf: AnafStandin;
  home: string;
  env: NodeJS.ProcessEnv;
  profile: string;
  cli(args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<CliResult>;
  /** The CLI with --json, its stdout parsed (the exit code checked against `code`). */
  json<T>(args: string[], code?: number, env?: NodeJS.ProcessEnv): Promise<T>;
  /** An in-process App on the same data folder. */
  app(): App;
  close(): Promise<void>;
}

const quiet: Logger = { log: () => {} };

export async function startGatewayWorld(
  opts: {
    env?: NodeJS.ProcessEnv;
    home?: string;
    /** Runs before the profile is added (e.g. a team store set up). */ setup?: (cli: GatewayWorld['cli']) => Promise<void>;
  } = {},
): Promise<GatewayWorld> {
  const pki = await makePki(tempDir('gateway-pki'));
  const anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }] });
  const home = opts.home ?? tempDir('gateway-home');
  const env: NodeJS.ProcessEnv = {
    ANAF_TOKEN_HOME: home,
    ANAF_TOKEN_KEYSTORE: 'file',
    NODE_EXTRA_CA_CERTS: pki.ca.certFile,
    ...FAST_TIMING,
    ...opts.env,
  };
  const cli = (args: string[], input?: string, extra?: NodeJS.ProcessEnv) => runCli(args, { ...env, ...extra }, input);
  const json = async <T>(args: string[], code = 0, extra?: NodeJS.ProcessEnv): Promise<T> => {
    const r = await cli([...args, '--json'], undefined, extra);
    if (r.code !== code) throw new Error(`${args.join(' ')} exited ${r.code}, expected ${code}: ${r.stderr}${r.stdout}`);
    return JSON.parse(code === 0 ? r.stdout : r.stdout || r.stderr) as T;
  };
  const profile = 'firma';
  await opts.setup?.(cli);
  const added = await cli(
    ['profile', 'add', '--name', profile, '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT, '--env', anaf.url, '--api', `${anaf.url}/test`],
    `${CLIENT_SECRET}\n`,
  );
  if (added.code !== 0) throw new Error(`profile add: ${added.stderr}`);
  const start = JSON.parse((await cli(['authorize', '--profile', profile, '--json'])).stdout) as { authorizeUrl: string };
  const res = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
  const done = await cli(['authorize', '--profile', profile, '--callback-url'], `${res.location!}\n`);
  if (done.code !== 0) throw new Error(`authorize: ${done.stderr}`);
  return {
    pki,
    anaf,
    home,
    env,
    profile,
    cli,
    json,
    app: () => new App({ paths: resolvePaths(home), log: quiet }),
    close: () => anaf.close(),
  };
}
