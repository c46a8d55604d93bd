/**
 * What a key store holds: the vault key and, once the vault was migrated, the lowest vault
 * schema this key's vault may be at (its "floor"). The floor lives here, beside the key, and not
 * in the vault file: someone who can write the vault file but not the key store (a restored
 * backup, another program) could otherwise put back a vault copy from before a migration, edit
 * it where the old format bound nothing, and have it migrated again. With the floor kept with
 * the key, such a copy is refused (VAULT_ROLLED_BACK).
 *
 *   floor 1 (every key before):  <base64 of the 32-byte key>                        (44 characters)
 *   floor N ≥ 2:                 anaf-token-key:<N>:<base64 key>:<base64url tag>
 *   tag = HMAC-SHA256(key, "anaf-token-key:<N>"), the first 16 bytes
 *
 * The tag binds N to the key, so a program that can write the store but not read the key cannot
 * turn the number down in place; the prefix cannot be cut off in place either (the old form must
 * start with the key's own characters), and leading spaces are not accepted.
 *
 * Why a floor and not a new key at migration (which would also leave an old copy unopenable):
 * the new key and the re-sealed vault cannot be written in one step, so a crash between them
 * would need both keys kept and tried for a while, in all three stores; every running process
 * (serve above all) holds the key in memory and would lose the vault until restarted; and it
 * still would not stop a copy of the vault put back together with the key file of its time. The
 * floor is one write after the migration commits, the same whichever process makes it, and a
 * crash before it is repaired by the next process that uses the key.
 */
import { nodeCrypto } from './node-crypto.js';

const PREFIX = 'anaf-token-key';
const LEGACY_RE = /^[A-Za-z0-9+/]{43}=$/;
const RECORD_RE = /^anaf-token-key:([1-9][0-9]{0,5}):([A-Za-z0-9+/]{43}=):([A-Za-z0-9_-]{22})$/;

export interface KeyRecord {
  key: Buffer;
  /** The floor the record claims; `verifiedFloor` checks its tag (which needs node:crypto). */
  floor: number;
}

const tag = (key: Buffer, floor: number): string =>
  nodeCrypto().createHmac('sha256', key).update(`${PREFIX}:${floor}`).digest().subarray(0, 16).toString('base64url');

export function encodeKeyRecord(key: Buffer, floor: number): string {
  if (key.length !== 32) throw new Error('a vault key has 32 bytes');
  return floor <= 1 ? key.toString('base64') : `${PREFIX}:${floor}:${key.toString('base64')}:${tag(key, floor)}`;
}

/** The key and the floor it claims, without node:crypto (every process start reads the key); `damaged` names the store in the error. */
export function decodeKeyRecord(text: string, damaged: string): KeyRecord {
  if (LEGACY_RE.test(text)) return { key: Buffer.from(text, 'base64'), floor: 1 };
  const m = RECORD_RE.exec(text);
  if (!m) throw new Error(damaged);
  return { key: Buffer.from(m[2]!, 'base64'), floor: Number(m[1]) };
}

/** The floor, once its tag is proven to have been made with the key; a forged or altered one is damage. */
export function verifiedFloor(text: string, damaged: string): KeyRecord {
  const r = decodeKeyRecord(text, damaged);
  const m = RECORD_RE.exec(text);
  // Every record in the long form has its tag checked, whatever number it names (1 included).
  if (m && !nodeCrypto().timingSafeEqual(Buffer.from(tag(r.key, r.floor)), Buffer.from(m[3]!))) throw new Error(damaged);
  return r;
}
