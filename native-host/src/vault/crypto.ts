/**
 * AES-256-GCM sealing of single values. The associated data binds a ciphertext to its place
 * (table, row, column), so a value copied into another row does not open.
 */
import { nodeCrypto } from './node-crypto.js';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function newKey(): Buffer {
  return nodeCrypto().randomBytes(32);
}

export function seal(key: Buffer, plaintext: string, aad: string): Buffer {
  const crypto = nodeCrypto();
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

/** Throws when the key is wrong, the data was altered or it belongs to another place. */
export function open(key: Buffer, sealed: Buffer, aad: string): string {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new Error('sealed value has an unknown format');
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = nodeCrypto().createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
}
