/**
 * A profile: one ANAF application registration (client id + callback URL) used by one person.
 * Each schema is a function that builds it once (see lazy.ts).
 */
import * as z from 'zod/mini';
import { PROFILE_NAME_RE, PROFILE_NAME_RULE } from '../profile-name.js';
import { lazy } from './lazy.js';

export { PROFILE_NAME_MAX_LENGTH, PROFILE_NAME_RE } from '../profile-name.js';

export const profileNameSchema = lazy(() => z.string().check(z.regex(PROFILE_NAME_RE, PROFILE_NAME_RULE)));

/** `prod` and `test` use ANAF's OAuth server; an https URL points to another server (the stand-in). */
const parsedUrl = (u: string): URL | undefined => (URL.canParse(u) ? new URL(u) : undefined);

/** Longest callback or server URL: every field of a native request has a bound (requests.ts sizes the frame cap from them). */
export const URL_MAX_LENGTH = 2048;
export const CLIENT_ID_MAX_LENGTH = 256;
export const CLIENT_SECRET_MAX_LENGTH = 512;
export const REFRESH_WINDOW_MAX_DAYS = 80;

export const environmentSchema = lazy(() =>
  z.union([
    z.enum(['prod', 'test']),
    z.url({ protocol: /^https$/ }).check(
      z.maxLength(URL_MAX_LENGTH),
      z.refine((u) => {
        const url = parsedUrl(u);
        return url !== undefined && !url.search && !url.hash;
      }, 'no query or fragment'),
    ),
  ]),
);
export type Environment = z.infer<ReturnType<typeof environmentSchema>>;

export const redirectUriSchema = lazy(() =>
  z.url({ protocol: /^https?$/ }).check(
    z.maxLength(URL_MAX_LENGTH),
    z.refine((u) => parsedUrl(u)?.hash === '', 'a callback URL has no fragment'),
  ),
);

const printable = () => z.regex(/^[\x21-\x7e]+$/, 'printable ASCII, no spaces');
export const clientIdSchema = lazy(() => z.string().check(z.minLength(1), z.maxLength(CLIENT_ID_MAX_LENGTH), printable()));
export const clientSecretSchema = lazy(() => z.string().check(z.minLength(1), z.maxLength(CLIENT_SECRET_MAX_LENGTH), printable()));

export const refreshWindowDaysSchema = lazy(() => z.int().check(z.minimum(1), z.maximum(REFRESH_WINDOW_MAX_DAYS)));
export const DEFAULT_REFRESH_WINDOW_DAYS = 14;

/**
 * The fields a person fills in to save a profile: the options page's form and the host's
 * `profile.save` request. The secret may be left out when the vault already holds one.
 */
export const profileFormFields = () => ({
  name: profileNameSchema(),
  clientId: clientIdSchema(),
  clientSecret: z.optional(clientSecretSchema()),
  redirectUri: redirectUriSchema(),
  env: environmentSchema(),
  refreshWindowDays: z.optional(refreshWindowDaysSchema()),
});

/** What anyone may see of a profile: never the secret. */
export const profileSchema = lazy(() =>
  z.object({
    name: profileNameSchema(),
    clientId: clientIdSchema(),
    redirectUri: redirectUriSchema(),
    env: environmentSchema(),
    refreshWindowDays: refreshWindowDaysSchema(),
  }),
);
export type Profile = z.infer<ReturnType<typeof profileSchema>>;

export const profileInputSchema = lazy(() =>
  z.extend(profileSchema(), {
    clientSecret: clientSecretSchema(),
    refreshWindowDays: z._default(refreshWindowDaysSchema(), DEFAULT_REFRESH_WINDOW_DAYS),
  }),
);
export type ProfileInput = z.input<ReturnType<typeof profileInputSchema>>;
