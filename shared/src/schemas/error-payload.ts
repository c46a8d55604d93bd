/** The serialized form of an AppError that crosses the native messaging boundary (the type lives with the catalogue). */
import * as z from 'zod/mini';
import { ERROR_CODES, type ErrorPayload } from '../errors.js';

export const errorCodeSchema = z.enum(ERROR_CODES);

export const errorPayloadSchema = z.object({
  code: errorCodeSchema,
  message: z.object({ en: z.string(), ro: z.string() }),
  /** Extra facts safe to show (never tokens or secrets), e.g. ANAF's error code. */
  detail: z.optional(z.string().check(z.maxLength(2000))),
}) satisfies z.ZodMiniType<ErrorPayload>; // parses exactly what AppError.toPayload makes
export type { ErrorPayload };
