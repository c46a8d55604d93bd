/**
 * PostgreSQL advisory locks are named by one 64-bit integer per database. A lease's (or the
 * schema lock's) key is derived from its name: the first 8 bytes, big-endian, of
 * SHA-256("anaf-token advisory lock\0" + name), read as a signed 64-bit integer (PostgreSQL's
 * bigint). The prefix keeps our keys apart from those of other programs sharing the database
 * (the ERP's own); a collision of two names is a 2^-64 chance, and would only make two refreshes
 * wait for each other.
 *
 * pg_locks shows a bigint advisory key as classid = its high 32 bits and objid = its low 32
 * bits (both unsigned), with objsubid = 1.
 */
import { nodeCrypto } from '../vault/node-crypto.js';

export interface AdvisoryKey {
  /** The key as a decimal string: node-postgres passes it to a bigint parameter exactly. */
  key: string;
  classid: number;
  objid: number;
}

export function advisoryKey(name: string): AdvisoryKey {
  const digest = nodeCrypto().createHash('sha256').update(`anaf-token advisory lock\0${name}`, 'utf8').digest();
  return { key: digest.readBigInt64BE(0).toString(), classid: digest.readUInt32BE(0), objid: digest.readUInt32BE(4) };
}
