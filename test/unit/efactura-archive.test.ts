/** The descarcare ZIP: ANAF's two files unpacked; anything odd refuses the whole archive. */
import { strToU8, zipSync, type Zippable } from 'fflate';
import { describe, expect, it } from 'vitest';
import { AppError } from '#shared/errors.js';
import { readArchive, unpackMessage } from '../../native-host/src/efactura/archive.js';

const INVOICE = '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>F-1</ID></Invoice>';
const SIGNATURE = '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature>';
const ERRORS =
  '<header xmlns="mfp:anaf:dgti:efactura:mesajEroriFactuta:v1" Index_incarcare="5001" Cif_emitent="123"><Error errorMessage="E: [BR-02] lipseste"/><Error errorMessage="E: [BR-03] lipseste"/></header>';

const zip = (files: Record<string, string | Uint8Array>, level: 0 | 6 = 6): Uint8Array => {
  const z: Zippable = {};
  for (const [k, v] of Object.entries(files)) z[k] = typeof v === 'string' ? strToU8(v) : v;
  return zipSync(z, { level });
};

function refused(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('ANAF_API_ARCHIVE_INVALID');
    return (e as AppError).detail ?? '';
  }
  throw new Error('expected a refusal');
}

describe('unpackMessage', () => {
  it("gives the invoice and ANAF's signature", () => {
    const m = unpackMessage(zip({ '5001.xml': INVOICE, 'semnatura_5001.xml': SIGNATURE }));
    expect(m.kind).toBe('invoice');
    expect([m.document.name, m.document.data.toString()]).toEqual(['5001.xml', INVOICE]);
    expect(m.signature.name).toBe('semnatura_5001.xml');
    expect(m.errors).toEqual([]);
  });

  it('gives the errors of a rejected invoice, stored or deflated', () => {
    for (const level of [0, 6] as const) {
      const m = unpackMessage(zip({ '5001.xml': ERRORS, 'semnatura_5001.xml': SIGNATURE }, level));
      expect(m.kind).toBe('errors');
      expect(m.errors).toEqual(['E: [BR-02] lipseste', 'E: [BR-03] lipseste']);
    }
  });

  it.each(['../5001.xml', '/etc/5001.xml', 'a/5001.xml', 'a\\5001.xml', 'C:5001.xml', '.5001.xml', '5001..xml', ' 5001.xml'])(
    'refuses the entry name %j',
    (name) => {
      expect(refused(() => unpackMessage(zip({ [name]: INVOICE, 'semnatura_5001.xml': SIGNATURE })))).toContain('unsafe name');
    },
  );

  it('refuses a missing signature, an extra file, two documents, XML that does not parse', () => {
    expect(refused(() => unpackMessage(zip({ '5001.xml': INVOICE })))).toContain('one document and one signature');
    expect(refused(() => unpackMessage(zip({ '5001.xml': INVOICE, 'semnatura_5001.xml': SIGNATURE, 'x.pdf': '%PDF' })))).toContain('unexpected entries');
    expect(refused(() => unpackMessage(zip({ '5001.xml': INVOICE, '5002.xml': INVOICE, 'semnatura_5001.xml': SIGNATURE })))).toContain('one document');
    expect(refused(() => unpackMessage(zip({ '5001.xml': '<Invoice>', 'semnatura_5001.xml': SIGNATURE })))).toContain('not well-formed');
  });

  it('refuses what is not a ZIP, an empty one, a truncated one, one with too many entries', () => {
    expect(refused(() => readArchive(Buffer.from('{"eroare":"x"}')))).toContain('not a ZIP');
    const whole = zip({ '5001.xml': INVOICE, 'semnatura_5001.xml': SIGNATURE });
    refused(() => readArchive(whole.subarray(0, whole.length - 30)));
    const many: Record<string, string> = {};
    for (let i = 0; i < 9; i++) many[`${i}.xml`] = '<a/>';
    expect(refused(() => readArchive(zip(many)))).toContain('more than 8');
  });

  it('counts what really inflates: sizes that lie in the headers do not get past the limit', () => {
    const z = Buffer.from(zip({ '5001.xml': new Uint8Array(20 * 1024 * 1024), 'semnatura_5001.xml': SIGNATURE }));
    // Claim 100 bytes in the local header (offset 22) and the central directory (offset 24).
    let patched = 0;
    for (let i = 0; i + 28 <= z.length; i++) {
      const sig = z.readUInt32LE(i);
      if (sig === 0x04034b50 && z.readUInt32LE(i + 22) === 20 * 1024 * 1024) {
        z.writeUInt32LE(100, i + 22);
        patched++;
      }
      if (sig === 0x02014b50 && z.readUInt32LE(i + 24) === 20 * 1024 * 1024) {
        z.writeUInt32LE(100, i + 24);
        patched++;
      }
    }
    expect(patched).toBe(2);
    expect(z.length).toBeLessThan(100 * 1024);
    expect(refused(() => readArchive(z))).toContain('size limit');
    // Within a lower total limit, an honest archive is refused too.
    expect(
      refused(() =>
        readArchive(zip({ 'a.xml': new Uint8Array(2000), 'b.xml': new Uint8Array(2000) }), { maxEntries: 8, maxEntryBytes: 4000, maxTotalBytes: 3000 }),
      ),
    ).toContain('size limit');
  });
});
