/**
 * Makes the loopback listener's certificate with WebCrypto and @peculiar/x509: an ECDSA P-256
 * key and a self-signed leaf for localhost, 127.0.0.1 and ::1 (server authentication only).
 * Kept apart from local-tls-cert.ts so the X.509 library loads only when a certificate is made.
 */
import 'reflect-metadata';
import crypto from 'node:crypto';
import * as x509 from '@peculiar/x509';

export const LOCAL_CERT_NAMES = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] } as const;
/** Browsers refuse leaf certificates valid for more than 398 days. */
const VALID_DAYS = 397;
const DAY_MS = 86_400_000;

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END ${label}-----\n`;

export async function makeLocalCert(now: number): Promise<{ certPem: string; keyPem: string; der: ArrayBuffer; notAfter: Date }> {
  const webcrypto = crypto.webcrypto as unknown as Crypto;
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const notBefore = new Date(now - 60 * 60_000); // a clock a little behind must not see it as "not yet valid"
  const notAfter = new Date(now + VALID_DAYS * DAY_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: `01${crypto.randomBytes(15).toString('hex')}`,
      name: 'CN=localhost, O=anaf-token (loopback callback)',
      notBefore,
      notAfter,
      signingAlgorithm: alg,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          ...LOCAL_CERT_NAMES.dns.map((value) => ({ type: 'dns' as const, value })),
          ...LOCAL_CERT_NAMES.ip.map((value) => ({ type: 'ip' as const, value })),
        ]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem') + '\n', keyPem: pem('PRIVATE KEY', pkcs8), der: cert.rawData, notAfter };
}
