/** ANAF's OAuth endpoints for a profile's environment (see ../shared/anaf-facts.md). */
import type { Environment } from '../../../shared/src/schemas/profile.js';

export const ANAF_OAUTH_BASE = 'https://logincert.anaf.ro';

export interface OAuthEndpoints {
  issuer: string;
  authorize: string;
  token: string;
  revoke: string;
}

/** `prod` and `test` share ANAF's one OAuth server; only the e-Factura API base differs. */
export function oauthEndpoints(env: Environment): OAuthEndpoints {
  const base = env === 'prod' || env === 'test' ? ANAF_OAUTH_BASE : env.replace(/\/+$/, '');
  return {
    issuer: base,
    authorize: `${base}/anaf-oauth2/v1/authorize`,
    token: `${base}/anaf-oauth2/v1/token`,
    revoke: `${base}/anaf-oauth2/v1/revoke`,
  };
}
