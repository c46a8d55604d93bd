/**
 * What the extension may ask the native host. The host parses every message with this schema;
 * a message that does not parse is answered with BAD_REQUEST.
 */
import * as z from 'zod/mini';
import {
  clientIdSchema,
  clientSecretSchema,
  environmentSchema,
  profileNameSchema,
  redirectUriSchema,
  refreshWindowDaysSchema,
} from '../schemas/profile.js';

const str = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const id = str(1, 64);
const profile = profileNameSchema;
const callbackUrl = z.url().check(z.maxLength(8192));

export const requestSchema = z.discriminatedUnion('type', [
  z.strictObject({ id, type: z.literal('hello'), protocol: z.int() }),
  z.strictObject({ id, type: z.literal('status') }),
  z.strictObject({
    id,
    type: z.literal('profile.save'),
    name: profile,
    clientId: clientIdSchema,
    /** Omitted when editing a profile whose secret is already in the vault. */
    clientSecret: z.optional(clientSecretSchema),
    redirectUri: redirectUriSchema,
    env: environmentSchema,
    refreshWindowDays: z.optional(refreshWindowDaysSchema),
  }),
  z.strictObject({ id, type: z.literal('profile.remove'), profile }),
  z.strictObject({ id, type: z.literal('authorize.start'), profile }),
  /** The URL ANAF redirected to, or just its code and state (for callers that parsed it). */
  z
    .strictObject({
      id,
      type: z.literal('authorize.complete'),
      profile,
      callbackUrl: z.optional(callbackUrl),
      code: z.optional(str(1, 4096)),
      state: z.optional(str(1, 512)),
    })
    .check(z.refine((m) => (m.callbackUrl === undefined) !== (m.code === undefined), 'callbackUrl or code, not both')),
  z.strictObject({ id, type: z.literal('token.refresh'), profile, force: z.optional(z.boolean()) }),
  z.strictObject({ id, type: z.literal('token.revoke'), profile }),
  /** The user names the certificate that authenticated, when ANAF's token does not. */
  z.strictObject({ id, type: z.literal('token.label'), profile, label: z.string().check(z.trim(), z.minLength(1), z.maxLength(128)) }),
  z.strictObject({ id, type: z.literal('refresh.due') }),
  /** Certificates on the USB token(s), read without a PIN; `modules` defaults to every known installed driver. */
  z.strictObject({ id, type: z.literal('certs.list'), modules: z.optional(z.array(str(1, 1024)).check(z.maxLength(16))) }),
  /** The PIN from an extension field: used for C_Login only, never stored or logged. */
  z.strictObject({
    id,
    type: z.literal('pin.check'),
    module: str(1, 1024),
    tokenSerial: z.string().check(z.maxLength(64)),
    certId: z.string().check(z.regex(/^[0-9a-f]*$/), z.maxLength(256)),
    pin: str(1, 64),
  }),
]);
export type Request = z.infer<typeof requestSchema>;
export type RequestType = Request['type'];
