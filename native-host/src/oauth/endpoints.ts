/** ANAF's OAuth endpoints for a profile's environment (see ../shared/anaf-facts.md). */
import type { Environment } from '#shared/schemas/profile.js';

export const ANAF_OAUTH_BASE = 'https://logincert.anaf.ro';
/** ANAF's API server: e-Factura, e-Transport and the token check. */
export const ANAF_API_BASE = 'https://api.anaf.ro';

export interface OAuthEndpoints {
  issuer: string;
  authorize: string;
  token: string;
  revoke: string;
  /** TestOauth hello: answers 200 to a Bearer access token ANAF accepts ("does it work right now?"). */
  hello: string;
}

/**
 * `prod` and `test` share ANAF's one OAuth server and its one hello; only the e-Factura API base
 * differs. Another server (the stand-in) serves every path under its base URL.
 */
export function oauthEndpoints(env: Environment): OAuthEndpoints {
  const anaf = env === 'prod' || env === 'test';
  const base = anaf ? ANAF_OAUTH_BASE : env.replace(/\/+$/, '');
  return {
    issuer: base,
    authorize: `${base}/anaf-oauth2/v1/authorize`,
    token: `${base}/anaf-oauth2/v1/token`,
    revoke: `${base}/anaf-oauth2/v1/revoke`,
    hello: `${anaf ? ANAF_API_BASE : base}/TestOauth/jaxrs/hello?name=test`,
  };
}
