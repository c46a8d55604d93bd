/**
 * A profile's name, as the CLI, the native protocol and the ERP API accept it. Without zod: the
 * CLI's `token`, which scripts run many times a day, checks its --profile with this alone.
 */
export const PROFILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** PROFILE_NAME_RE's bound. */
export const PROFILE_NAME_MAX_LENGTH = 64;
export const PROFILE_NAME_RULE = 'letters, digits, ".", "_" or "-", at most 64, starting with a letter or digit';
