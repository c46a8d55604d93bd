/**
 * A qualified certificate's subject may carry the holder's personal ID number (CNP) as
 * `serialNumber=PNORO-…` (ETSI EN 319 412-1 natural-person semantics). The ERP needs the
 * holder's name, not that number: it is removed unless the user allowed it for that client.
 */
const PERSONAL_ID_RDN = /(^|,)\s*(?:serialNumber|SERIALNUMBER|2\.5\.4\.5)\s*=\s*(?:PNO|IDC|PAS|CPI|TIN)[A-Z]{0,2}-?(?:\\,|[^,])*/g;

export function withoutPersonalId(subject: string): string {
  return subject.replace(PERSONAL_ID_RDN, '').replace(/^\s*,\s*/, '');
}
