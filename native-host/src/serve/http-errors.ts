/** How an AppError answers over HTTP: a status an ERP can branch on, and the ro/en payload. */
import { AppError, type ErrorCode } from '#shared/errors.js';
import { redact } from '../log/logger.js';
import type { ErrorResponse } from './api.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  API_KEY_INVALID: 401,
  API_PROFILE_NOT_ALLOWED: 403,
  API_BEARER_REFUSED: 401,
  API_CLIENT_KEY_OLD: 401,
  HOST_NOT_ALLOWED: 403,
  WEB_ORIGIN_REFUSED: 403,
  PROFILE_NOT_FOUND: 404,
  API_ROUTE_NOT_FOUND: 404,
  // Only a new authorization with the USB key helps.
  NO_TOKEN: 409,
  TOKEN_DEAD: 409,
  // The profile was changed outside anaf-token: a person must save it again with its secret.
  PROFILE_ALTERED: 409,
  // ANAF refused or garbled the refresh, and no usable token is left.
  ANAF_BAD_RESPONSE: 502,
  INVALID_CLIENT: 502,
  AUTHORIZATION_FAILED: 502,
  INVALID_GRANT: 502,
  ACCESS_DENIED: 502,
  // ANAF unreachable (or another process is still refreshing), and no usable token is left.
  ANAF_UNAVAILABLE: 503,
  TOKEN_EXPIRED: 503,
  REFRESH_BUSY: 503,
  // The team store's database cannot be reached and nothing usable was remembered: it is temporary.
  STORE_UNAVAILABLE: 503,
  // The e-Factura / e-Transport gateway: ANAF's answers, and the limits kept on our side.
  ANAF_API_NOT_REACHED: 503,
  ANAF_API_ANSWER_LOST: 504,
  ANAF_API_UNAVAILABLE: 503,
  ANAF_API_FIREWALL: 502,
  ANAF_API_RATE_LIMITED: 429,
  ANAF_API_DAILY_LIMIT: 429,
  ANAF_API_NO_SPV_RIGHT: 403,
  ANAF_API_NOT_AUTHORIZED: 502,
  ANAF_API_TOO_OLD: 410,
  ANAF_API_NOT_FOUND: 404,
  ANAF_API_REFUSED: 422,
  ANAF_API_BAD_ANSWER: 502,
  ANAF_API_ARCHIVE_INVALID: 502,
  ANAF_API_FILE_TOO_LARGE: 413,
  GATEWAY_LIMIT_DEFERRED: 429,
  GATEWAY_DAILY_LIMIT: 429,
  GATEWAY_JOB_NOT_FOUND: 404,
  GATEWAY_API_NOT_SET: 409,
  GATEWAY_WEBHOOK_REFUSED: 400,
  // Importing a request link's answer (POST /v1/requests/import).
  REQUEST_TAMPERED: 400,
  STATE_MISMATCH: 400,
  REQUEST_FOREIGN: 404,
  REQUEST_NOT_FOUND: 404,
  REQUEST_USED: 409,
  REQUEST_PROFILE_CHANGED: 409,
  REQUEST_KEY_UNREADABLE: 409,
  REQUEST_EXPIRED: 410,
  REQUEST_CANCELLED: 410,
};

export function httpStatusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

export function errorBody(err: AppError): ErrorResponse {
  const payload = err.toPayload();
  // Details come from ANAF's answers and file paths: scrub them like log lines.
  if (payload.detail !== undefined) payload.detail = redact(payload.detail).slice(0, 500);
  return { error: payload };
}
