/**
 * Errors as the extension's pages see them. The host's errors arrive with both languages
 * (shared/src/errors.ts); the extension's own failures are codes whose text lives in _locales,
 * so each page shows the one for the UI language. Never put a token, code or secret in `detail`.
 */
import type { ErrorCode } from '#shared/errors.js';
import { errorPayloadSchema, type ErrorPayload } from '#shared/schemas/error-payload.js';
import * as z from 'zod/mini';

export const EXT_ERROR_CODES = [
  'HOST_MISSING',
  'HOST_FORBIDDEN',
  'HOST_FAILED',
  'HOST_TIMEOUT',
  'HOST_OUTDATED',
  'HOST_BAD_ANSWER',
  'PERMISSION_NEEDED',
  'TAB_CLOSED',
  'AUTH_TIMEOUT',
  'NO_CERTIFICATE',
  'CALLBACK_UNEXPECTED',
  'CALLBACK_NO_STATE',
  'EXTENSION_FAILED',
] as const;
export type ExtErrorCode = (typeof EXT_ERROR_CODES)[number];

export const uiErrorSchema = z.discriminatedUnion('source', [
  z.object({ source: z.literal('host'), payload: errorPayloadSchema }),
  z.object({
    source: z.literal('extension'),
    code: z.enum(EXT_ERROR_CODES),
    /** Substitutions for the _locales message ($1…). */
    params: z.array(z.string().check(z.maxLength(300))).check(z.maxLength(9)),
    detail: z.optional(z.string().check(z.maxLength(500))),
  }),
]);
export type UiError = z.infer<typeof uiErrorSchema>;

/** A failure of the extension itself (host unreachable, tab closed, …). */
export class ExtError extends Error {
  constructor(
    readonly code: ExtErrorCode,
    readonly params: string[] = [],
    readonly detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'ExtError';
  }
}

/** A typed error answered by the native host. */
export class HostError extends Error {
  constructor(readonly payload: ErrorPayload) {
    super(payload.code);
    this.name = 'HostError';
  }

  get code(): ErrorCode {
    return this.payload.code;
  }
}

/** A UiError carried back into a page's code path (thrown by the background client). */
export class UiFailure extends Error {
  constructor(readonly error: UiError) {
    super(errorCode(error));
    this.name = 'UiFailure';
  }
}

export function toUiError(e: unknown): UiError {
  if (e instanceof UiFailure) return e.error;
  if (e instanceof HostError) return { source: 'host', payload: e.payload };
  if (e instanceof ExtError) {
    return e.detail === undefined
      ? { source: 'extension', code: e.code, params: e.params }
      : { source: 'extension', code: e.code, params: e.params, detail: e.detail.slice(0, 500) };
  }
  // Only the error's kind: an unknown error's message might quote something sensitive.
  const name = e instanceof Error ? e.name : typeof e;
  return { source: 'extension', code: 'EXTENSION_FAILED', params: [], detail: name.slice(0, 100) };
}

export function errorCode(e: UiError): string {
  return e.source === 'host' ? e.payload.code : e.code;
}
