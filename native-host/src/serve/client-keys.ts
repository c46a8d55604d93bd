/**
 * Client keys for the ERP token service: random, shown once, stored as SHA-256 only. A
 * presented key is hashed and compared with every stored hash in constant time, so neither
 * the time taken nor an early exit tells a caller how close a guess was.
 */
import crypto from 'node:crypto';
import * as z from 'zod/mini';
import { profileNameSchema } from '../../../shared/src/schemas/profile.js';
import type { Vault } from '../vault/vault.js';

export const CLIENT_KEY_PREFIX = 'atk_';
/** 32 random bytes, base64url without padding: 43 characters. */
const CLIENT_KEY_RE = /^atk_[A-Za-z0-9_-]{43}$/;
export const clientKeySchema = z.string().check(z.regex(CLIENT_KEY_RE));
export const clientNameSchema = profileNameSchema;

/** last_used_at is written at most this often, so a busy ERP does not cost a disk sync per request. */
const TOUCH_EVERY_MS = 60_000;

export function newClientKey(): string {
  return CLIENT_KEY_PREFIX + crypto.randomBytes(32).toString('base64url');
}

export function hashClientKey(key: string): Buffer {
  // The one-shot form: the token service hashes the presented key on every request.
  return crypto.hash('sha256', key, 'buffer');
}

/** The name of the client whose key this is, or undefined. Reads the vault each time: keys change under us. */
export function clientForKey(vault: Vault, presented: string, now: number): string | undefined {
  if (!CLIENT_KEY_RE.test(presented)) return undefined;
  const hash = hashClientKey(presented);
  let found: { name: string; lastUsedAt: number | undefined } | undefined;
  for (const c of vault.apiClientCredentials()) {
    // No early exit: every stored hash is compared.
    if (c.keyHash.length === hash.length && crypto.timingSafeEqual(c.keyHash, hash) && !found) found = c;
  }
  if (!found) return undefined;
  if (found.lastUsedAt === undefined || now - found.lastUsedAt >= TOUCH_EVERY_MS) {
    try {
      vault.touchApiClient(found.name, now);
    } catch {
      /* "last used" is informative; a busy vault must not fail the request */
    }
  }
  return found.name;
}

/** The key from `Authorization: Bearer <key>`, if the header has that form. */
export function bearerKey(header: string | undefined): string | undefined {
  if (header === undefined || header.length > 512) return undefined;
  return /^Bearer +(\S+) *$/i.exec(header)?.[1];
}
