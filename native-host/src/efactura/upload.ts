/**
 * e-Factura upload: `POST upload` (or `uploadb2c`) with the raw XML; ANAF answers at once with
 * the `index_incarcare` it will process the document under (stareMesaj tells the outcome).
 */
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { checkDocument, exchange, normalizeCif, SMALL_ANSWER_MAX, url, type ApiCall } from './call.js';
import { headerAttrs, headerOf } from './header.js';

export const UPLOAD_STANDARDS = ['UBL', 'CN', 'CII', 'RASP'] as const;
export type UploadStandard = (typeof UPLOAD_STANDARDS)[number];

export interface UploadInput {
  xml: Uint8Array | string;
  cif: string;
  /** Default UBL. RASP is a message to the buyer (1000 a day per CIF). */
  standard?: UploadStandard;
  /** B2C invoice: `uploadb2c`. */
  b2c?: boolean;
  /** Buyer outside Romania: `extern=DA`. */
  extern?: boolean;
  /** Self-billing (issued by the buyer): `autofactura=DA`. */
  autofactura?: boolean;
  /** Issued under enforcement: `executare=DA`. */
  executare?: boolean;
}

export interface UploadReceipt {
  indexIncarcare: string;
  /** ANAF's yyyyMMddHHmm, as it sent it. */
  dateResponse: string | undefined;
}

const acceptedSchema = () =>
  z.looseObject({
    ExecutionStatus: z.literal('0'),
    index_incarcare: z.string().check(z.regex(/^\d{1,20}$/)),
    dateResponse: z.optional(z.string().check(z.maxLength(32))),
  });

export async function uploadInvoice(call: ApiCall, input: UploadInput): Promise<UploadReceipt> {
  const standard = input.standard ?? 'UBL';
  if (!UPLOAD_STANDARDS.includes(standard)) throw new AppError('BAD_REQUEST', 'standard is one of UBL, CN, CII, RASP');
  const body = checkDocument(input.xml);
  const what = `e-Factura ${input.b2c ? 'uploadb2c' : 'upload'}`;
  const a = await exchange(call.wire, {
    method: 'POST',
    url: url(call.endpoints.efactura, input.b2c ? 'uploadb2c' : 'upload', {
      standard,
      cif: normalizeCif(input.cif),
      extern: input.extern ? 'DA' : undefined,
      autofactura: input.autofactura ? 'DA' : undefined,
      executare: input.executare ? 'DA' : undefined,
    }),
    accessToken: call.accessToken,
    // ANAF documents text/plain for the XML body (its own examples and most clients send it).
    contentType: 'text/plain',
    accept: 'application/xml, text/xml;q=0.9, application/json;q=0.5',
    body,
    maxAnswerBytes: SMALL_ANSWER_MAX,
    what,
  });
  const attrs = headerAttrs(headerOf(a, what), acceptedSchema(), what);
  return { indexIncarcare: attrs.index_incarcare, dateResponse: attrs.dateResponse };
}
