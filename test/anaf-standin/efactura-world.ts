/** A stand-in with one OAuth client, and an access token from it, for the e-Factura / e-Transport wire tests. */
import https from 'node:https';
import { startAnafStandin, type AnafStandin } from './server.js';
import type { ApiCall, PublicCall } from '../../native-host/src/efactura/index.js';
import { apiEndpoints } from '../../native-host/src/efactura/index.js';
import { makePki, type Pki } from '../pki/make-pki.js';
import { openAuthorize } from '../helpers/browser.js';
import { request } from '../helpers/https.js';
import { tempDir } from '../helpers/temp.js';

const CLIENT_ID = 'efactura-client';
const CLIENT_SECRET = `efactura-secret-${Math.random().toString(36).slice(2)}`;
const REDIRECT = 'https://erp.example.ro/anaf/callback';

export interface EfacturaWorld {
  pki: Pki;
  anaf: AnafStandin;
  /** A keep-alive pool of this world's own, closed with it. */
  agent: https.Agent;
  /** The stand-in's /test environment, with a fresh access token. */
  call: ApiCall;
  /** The same with /prod (where validare and transformare live). */
  publicCall: PublicCall;
  /** Another access token from the same stand-in. */
  newToken(): Promise<string>;
  close(): Promise<void>;
}

export async function startEfacturaWorld(): Promise<EfacturaWorld> {
  const pki = await makePki(tempDir('efactura-pki'));
  const anaf = await startAnafStandin({ pki, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT] }] });
  const agent = new https.Agent({ keepAlive: true });
  const newToken = async (): Promise<string> => {
    const q = new URLSearchParams({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT, token_content_type: 'jwt', state: 's' });
    const r = await openAuthorize(`${anaf.url}/anaf-oauth2/v1/authorize?${q}`, pki.ca.certPem, pki.client);
    const code = new URL(r.location ?? 'https://x.invalid/').searchParams.get('code');
    if (!code) throw new Error(`authorize answered ${r.status}`);
    const t = await request(`${anaf.url}/anaf-oauth2/v1/token`, pki.ca.certPem, {
      form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, token_content_type: 'jwt' },
    });
    const token = (JSON.parse(t.body) as { access_token?: string }).access_token;
    if (!token) throw new Error(`token answered ${t.status}`);
    return token;
  };
  const wire = { extraCa: pki.ca.certPem, agent, timeoutMs: 10_000 };
  return {
    pki,
    anaf,
    agent,
    call: { endpoints: apiEndpoints(`${anaf.url}/test`), accessToken: await newToken(), wire },
    publicCall: { endpoints: apiEndpoints(`${anaf.url}/prod`), wire },
    newToken,
    async close() {
      agent.destroy();
      await anaf.close();
    },
  };
}
