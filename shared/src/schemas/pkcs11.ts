/** What the host reports about PKCS#11 modules, tokens and the certificates on them. */
import * as z from 'zod/mini';
import { errorPayloadSchema } from './error-payload.js';

const text = (max = 512) => z.string().check(z.maxLength(max));

export const certificateDetailsSchema = z.object({
  /** CKA_ID in hex: with the module and token serial it names the certificate (and its key). */
  id: text(256),
  label: text(),
  subject: text(1024),
  commonName: text(),
  /** Hex, upper case, as a user types it in ERP settings. */
  serialHex: text(128),
  issuer: text(1024),
  notBefore: z.iso.datetime(),
  notAfter: z.iso.datetime(),
  sha256: text(128),
  keyAlgorithm: text(64),
  keyUsage: z.array(text(64)),
  extendedKeyUsage: z.array(text(128)),
  /** ETSI QC statements: compliance, on a QSCD, type (esign / eseal / web). */
  qualified: z.object({ compliance: z.boolean(), qscd: z.boolean(), types: z.array(text(32)) }),
  /** A private key with the same CKA_ID: yes, no, or unknown (hidden until the PIN is given). */
  privateKey: z.enum(['present', 'absent', 'unknown']),
  /** A signing certificate: digitalSignature or nonRepudiation in key usage. */
  signature: z.boolean(),
});
export type CertificateDetails = z.infer<typeof certificateDetailsSchema>;

export const pinStatusSchema = z.object({
  /** A wrong PIN was entered since the last right one. */
  countLow: z.boolean(),
  /** The next wrong PIN locks the token. */
  finalTry: z.boolean(),
  locked: z.boolean(),
});
export type PinStatus = z.infer<typeof pinStatusSchema>;

export const tokenDetailsSchema = z.object({
  slotId: text(32),
  slotDescription: text(),
  present: z.boolean(),
  label: z.optional(text()),
  manufacturer: z.optional(text()),
  model: z.optional(text()),
  serial: z.optional(text()),
  initialized: z.optional(z.boolean()),
  loginRequired: z.optional(z.boolean()),
  pin: z.optional(pinStatusSchema),
  certificates: z.array(certificateDetailsSchema),
  /** A token whose listing failed part way (e.g. pulled out): what is known, and why it stopped. */
  error: z.optional(errorPayloadSchema),
});
export type TokenDetails = z.infer<typeof tokenDetailsSchema>;

export const moduleReportSchema = z.object({
  path: text(1024),
  /** From the known-modules table, when the path is one of its entries. */
  name: z.optional(text()),
  library: z.optional(z.object({ manufacturer: text(), description: text(), version: text(16) })),
  tokens: z.array(tokenDetailsSchema),
  error: z.optional(errorPayloadSchema),
});
export type ModuleReport = z.infer<typeof moduleReportSchema>;

export const knownModuleSchema = z.object({
  id: text(64),
  name: text(),
  usedBy: z.array(text()),
  path: text(1024),
  installed: z.boolean(),
});
export type KnownModule = z.infer<typeof knownModuleSchema>;

export const pinCheckResultSchema = z.object({
  ok: z.boolean(),
  pin: z.optional(pinStatusSchema),
  /** Mechanism used to sign the challenge, e.g. CKM_SHA256_RSA_PKCS or CKM_ECDSA. */
  mechanism: z.optional(text(64)),
  signatureVerified: z.optional(z.boolean()),
});
export type PinCheckResult = z.infer<typeof pinCheckResultSchema>;
