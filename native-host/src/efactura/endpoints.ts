/**
 * Where ANAF's e-Factura and e-Transport APIs are (see ../shared/anaf-facts.md). `prod` and
 * `test` are ANAF's two environments on api.anaf.ro; validation and XML→PDF, which need no
 * token, live only on webservicesp.anaf.ro's prod (both 404 on the test environment). An
 * explicit https URL (a stand-in) takes the place of `https://api.anaf.ro/{prod|test}` for all
 * three, e.g. `https://127.0.0.1:4443/test`.
 */
import { AppError } from '#shared/errors.js';

export const ANAF_API_HOST = 'https://api.anaf.ro';
export const ANAF_PUBLIC_HOST = 'https://webservicesp.anaf.ro';

/** `prod`, `test`, or the https URL that stands for `https://api.anaf.ro/{prod|test}`. */
export type ApiTarget = string;

export interface ApiEndpoints {
  /** e-Factura with a token: `…/FCTEL/rest`. */
  efactura: string;
  /** e-Transport with a token: `…/ETRANSPORT/ws/v1`. */
  etransport: string;
  /** e-Factura's validare and transformare without a token: `…/FCTEL/rest`. */
  publicEfactura: string;
}

export function apiEndpoints(target: ApiTarget): ApiEndpoints {
  if (target === 'prod' || target === 'test') {
    return {
      efactura: `${ANAF_API_HOST}/${target}/FCTEL/rest`,
      etransport: `${ANAF_API_HOST}/${target}/ETRANSPORT/ws/v1`,
      publicEfactura: `${ANAF_PUBLIC_HOST}/prod/FCTEL/rest`,
    };
  }
  const u = URL.canParse(target) ? new URL(target) : undefined;
  // The access token travels in these requests: never over plain http, never with a query.
  if (!u || u.protocol !== 'https:' || u.search || u.hash || u.username || u.password) {
    throw new AppError('BAD_REQUEST', 'the API base must be prod, test or an https URL without query, fragment or credentials');
  }
  const base = u.toString().replace(/\/+$/, '');
  return { efactura: `${base}/FCTEL/rest`, etransport: `${base}/ETRANSPORT/ws/v1`, publicEfactura: `${base}/FCTEL/rest` };
}
