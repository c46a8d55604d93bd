/** What the fault groups share: a stand-in, a vault with an authorized profile, and the secret scan. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { makePki, type Pki } from '../pki/make-pki.js';
import { startAnafStandin, type AnafStandin } from '../anaf-standin/server.js';
import { runCli, transcript } from '../helpers/cli.js';
import { openAuthorize } from '../helpers/browser.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { tempDir } from '../helpers/temp.js';

export const CLIENT = {
  clientId: 'fault-client',
  clientSecret: `fault-secret-${Math.random().toString(36).slice(2)}`,
  redirectUris: ['https://erp.example.ro/cb'],
};

export interface FaultWorld {
  pki: Pki;
  anaf: AnafStandin;
  home: string;
  env: NodeJS.ProcessEnv;
  authorize(profile?: string): Promise<void>;
  addProfile(profile?: string): Promise<void>;
  /** Extra texts to scan (answers, outputs) and extra secrets (client keys). */
  texts: string[];
  secrets: string[];
  close(): Promise<{ scanned: number; hits: string[] }>;
}

export async function faultWorld(): Promise<FaultWorld> {
  const pki = await makePki(tempDir('pki'));
  const anaf = await startAnafStandin({ pki, clients: [CLIENT] });
  const home = tempDir('faults');
  const env = { ANAF_TOKEN_HOME: home, ANAF_TOKEN_KEYSTORE: 'file', NODE_EXTRA_CA_CERTS: pki.ca.certFile };
  const world: FaultWorld = {
    pki,
    anaf,
    home,
    env,
    texts: [],
    secrets: [],
    async addProfile(profile = 'firma') {
      const r = await runCli(
        ['profile', 'add', '--name', profile, '--client-id', CLIENT.clientId, '--redirect-uri', CLIENT.redirectUris[0]!, '--env', anaf.url],
        env,
        `${CLIENT.clientSecret}\n`,
      );
      expect(r.code, r.stderr).toBe(0);
    },
    async authorize(profile = 'firma') {
      const start = JSON.parse((await runCli(['authorize', '--profile', profile, '--json'], env)).stdout) as { authorizeUrl: string };
      const res = await openAuthorize(start.authorizeUrl, pki.ca.certPem, pki.client);
      const done = await runCli(['authorize', '--profile', profile, '--callback-url'], env, `${res.location!}\n`);
      expect(done.code, done.stderr).toBe(0);
    },
    async close() {
      const logFile = path.join(home, 'logs', 'anaf-token.log');
      const texts = [...transcript, ...world.texts, fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''];
      const secrets = [CLIENT.clientSecret, ...anaf.issued.accessTokens, ...anaf.issued.refreshTokens, ...anaf.issued.codes, ...world.secrets];
      await anaf.close();
      return { scanned: texts.length, hits: scanForSecrets(texts, secrets) };
    },
  };
  return world;
}
