/**
 * The two OAuth addresses the holder's browser needs for a request, from the link's public
 * parameters. They are the native host's (native-host/src/oauth/endpoints.ts, anaf-client.ts
 * authorizationUrl): test/unit/request-extension.test.ts holds the two to the same answer.
 */
import type { RequestBody } from './format.js';

const ANAF_OAUTH_BASE = 'https://logincert.anaf.ro';

function base(env: RequestBody['env']): string {
  return env === 'prod' || env === 'test' ? ANAF_OAUTH_BASE : env.replace(/\/+$/, '');
}

export function requestTokenEndpoint(env: RequestBody['env']): string {
  return `${base(env)}/anaf-oauth2/v1/token`;
}

export function requestAuthorizeUrl(body: RequestBody): string {
  const u = new URL(`${base(body.env)}/anaf-oauth2/v1/authorize`);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', body.cid);
  u.searchParams.set('redirect_uri', body.cb);
  // Without it ANAF may still hand out a legacy opaque token.
  u.searchParams.set('token_content_type', 'jwt');
  u.searchParams.set('state', body.st);
  return u.toString();
}
