/** The errors a token row stands for: a dead grant, or the failure its last refresh recorded. */
import { AppError, ERROR_CODES, type ErrorCode } from '#shared/errors.js';
import type { TokenRecord } from '../store/records.js';

export function storedError(text: string): AppError {
  const m = /^([A-Z_]+): ?(.*)$/s.exec(text);
  const code = m && (ERROR_CODES as readonly string[]).includes(m[1]!) ? (m[1] as ErrorCode) : 'ANAF_UNAVAILABLE';
  return new AppError(code, m ? m[2] || undefined : text);
}

export function deadError(rec: TokenRecord): AppError {
  return new AppError('TOKEN_DEAD', rec.deadReason);
}
