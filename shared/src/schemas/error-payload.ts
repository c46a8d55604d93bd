/** The serialized form of an AppError that crosses the native messaging boundary. */
import * as z from 'zod/mini';
import { ERROR_CODES } from '../errors.js';

export const errorCodeSchema = z.enum(ERROR_CODES);

export const errorPayloadSchema = z.object({
  code: errorCodeSchema,
  message: z.object({ en: z.string(), ro: z.string() }),
  /** Extra facts safe to show (never tokens or secrets), e.g. ANAF's error code. */
  detail: z.optional(z.string().check(z.maxLength(2000))),
});
export type ErrorPayload = z.infer<typeof errorPayloadSchema>;
