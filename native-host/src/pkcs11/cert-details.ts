/**
 * What a user needs to know about a certificate on the token, parsed with a real X.509 library:
 * holder, serial (hex, as ERP settings ask for it), issuer, validity, key usage, and the ETSI
 * qualified-certificate statements that tell a qualified signature certificate on a QSCD.
 */
import 'reflect-metadata';
import crypto from 'node:crypto';
import { AsnParser } from '@peculiar/asn1-schema';
import * as asn1js from 'asn1js';
import { QCStatements, id_pe_qcStatements } from '@peculiar/asn1-x509-qualified';
import * as x509 from '@peculiar/x509';
import type { CertificateDetails } from '#shared/schemas/pkcs11.js';
import { normalizeSerialHex } from '#shared/certificate-serial.js';

const QC_COMPLIANCE = '0.4.0.1862.1.1';
const QC_SSCD = '0.4.0.1862.1.4';
const QC_TYPE = '0.4.0.1862.1.6';
const QC_TYPES: Record<string, string> = {
  '0.4.0.1862.1.6.1': 'esign',
  '0.4.0.1862.1.6.2': 'eseal',
  '0.4.0.1862.1.6.3': 'web',
};

/** QcType's info is a SEQUENCE OF OBJECT IDENTIFIER. */
function oidList(der: ArrayBuffer): string[] {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) return [];
  return parsed.result.valueBlock.value.flatMap((v) => (v instanceof asn1js.ObjectIdentifier ? [v.valueBlock.toString()] : []));
}

const KEY_USAGE: [x509.KeyUsageFlags, string][] = [
  [x509.KeyUsageFlags.digitalSignature, 'digitalSignature'],
  [x509.KeyUsageFlags.nonRepudiation, 'nonRepudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
];

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.4.1.311.20.2.2': 'smartcardLogon',
  '1.3.6.1.4.1.311.10.3.12': 'documentSigning',
};

function qualified(cert: x509.X509Certificate): CertificateDetails['qualified'] {
  const ext = cert.getExtension(id_pe_qcStatements);
  const out = { compliance: false, qscd: false, types: [] as string[] };
  if (!ext) return out;
  try {
    for (const st of AsnParser.parse(ext.value, QCStatements)) {
      if (st.statementId === QC_COMPLIANCE) out.compliance = true;
      else if (st.statementId === QC_SSCD) out.qscd = true;
      else if (st.statementId === QC_TYPE && st.statementInfo.byteLength) {
        for (const oid of oidList(st.statementInfo)) out.types.push(QC_TYPES[oid] ?? oid);
      }
    }
  } catch {
    /* a malformed extension just leaves the facts unknown */
  }
  return out;
}

function keyAlgorithm(cert: x509.X509Certificate): string {
  const alg = cert.publicKey.algorithm as { name: string; modulusLength?: number; namedCurve?: string };
  if (alg.modulusLength) return `RSA ${alg.modulusLength}`;
  if (alg.namedCurve) return `EC ${alg.namedCurve}`;
  return alg.name;
}

export function commonNameOf(dn: string): string {
  return /(?:^|,\s*)CN=((?:\\,|[^,])+)/i.exec(dn)?.[1]?.trim() ?? dn;
}

/** RFC 4514 order (holder first) with the attribute names people know, from node's own parser. */
function dn(lines: string): string {
  return lines.split('\n').reverse().join(', ');
}

export function certificateDetails(der: Buffer, id: string, label: string, privateKey: CertificateDetails['privateKey']): CertificateDetails {
  const cert = new x509.X509Certificate(new Uint8Array(der));
  const names = new crypto.X509Certificate(der);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const keyUsage = ku ? KEY_USAGE.filter(([flag]) => (ku.usages & flag) !== 0).map(([, name]) => name) : [];
  return {
    id,
    label,
    subject: dn(names.subject),
    commonName: commonNameOf(dn(names.subject)),
    serialHex: normalizeSerialHex(cert.serialNumber) ?? cert.serialNumber,
    issuer: dn(names.issuer),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    sha256: crypto.createHash('sha256').update(der).digest('base64url'),
    keyAlgorithm: keyAlgorithm(cert),
    keyUsage,
    extendedKeyUsage: eku ? eku.usages.map((u) => EKU_NAMES[String(u)] ?? String(u)) : [],
    qualified: qualified(cert),
    privateKey,
    // No key usage extension means any use; otherwise it must allow signing.
    signature: !ku || keyUsage.includes('digitalSignature') || keyUsage.includes('nonRepudiation'),
  };
}
