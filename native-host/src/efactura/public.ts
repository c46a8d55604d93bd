/**
 * e-Factura's services without a token (webservicesp.anaf.ro, prod only): `validare` checks an
 * invoice against ANAF's rules, `transformare` renders it as PDF. Both take the XML as
 * text/plain; FACT1 is an invoice, FCN a credit note.
 */
import { AppError } from '#shared/errors.js';
import { anafText, jsonBody } from './answers.js';
import { checkDocument, exchange, FILE_ANSWER_MAX, SMALL_ANSWER_MAX, url, type PublicCall } from './call.js';
import { parseAnswer, validationSchema } from './schemas.js';

export type ValidationStandard = 'FACT1' | 'FCN';

export interface ValidationResult {
  valid: boolean;
  /** ANAF's findings, in its words. */
  messages: string[];
  traceId: string | undefined;
}

function checkStandard(s: ValidationStandard): ValidationStandard {
  if (s !== 'FACT1' && s !== 'FCN') throw new AppError('BAD_REQUEST', 'the standard is FACT1 (invoice) or FCN (credit note)');
  return s;
}

export async function validateXml(call: PublicCall, xml: Uint8Array | string, standard: ValidationStandard = 'FACT1'): Promise<ValidationResult> {
  const what = 'e-Factura validare';
  const a = await exchange(call.wire, {
    method: 'POST',
    url: url(call.endpoints.publicEfactura, `validare/${checkStandard(standard)}`),
    contentType: 'text/plain',
    accept: 'application/json',
    body: checkDocument(xml),
    maxAnswerBytes: SMALL_ANSWER_MAX * 16,
    what,
  });
  const v = parseAnswer(validationSchema(), jsonBody(a, what), what);
  const stare = v.stare.toLowerCase();
  if (stare !== 'ok' && stare !== 'nok') throw new AppError('ANAF_API_BAD_ANSWER', `${what}: unknown stare "${v.stare.slice(0, 40)}"`);
  return { valid: stare === 'ok', messages: (v.Messages ?? []).map((m) => m.message), traceId: v.trace_id };
}

const PDF_MAGIC = '%PDF-';

/**
 * The invoice as ANAF renders it. With `validate: false` ANAF skips its checks (`/DA`). An
 * invoice ANAF finds invalid is ANAF_API_REFUSED, its findings in the detail.
 */
export async function xmlToPdf(
  call: PublicCall,
  xml: Uint8Array | string,
  standard: ValidationStandard = 'FACT1',
  opts: { validate?: boolean } = {},
): Promise<Buffer> {
  const what = 'e-Factura transformare';
  const a = await exchange(call.wire, {
    method: 'POST',
    url: url(call.endpoints.publicEfactura, `transformare/${checkStandard(standard)}${opts.validate === false ? '/DA' : ''}`),
    contentType: 'text/plain',
    accept: 'application/pdf, application/json;q=0.5',
    body: checkDocument(xml),
    maxAnswerBytes: FILE_ANSWER_MAX,
    what,
  });
  if (a.body.subarray(0, 5).toString('latin1') === PDF_MAGIC) return a.body;
  // Seen from ANAF: the PDF as base64 text.
  const head = a.body.subarray(0, 8).toString('latin1');
  if (head.startsWith('JVBER')) {
    const pdf = Buffer.from(a.body.toString('latin1').trim(), 'base64');
    if (pdf.subarray(0, 5).toString('latin1') === PDF_MAGIC) return pdf;
  }
  if (a.mediaType === 'application/json' || head.trimStart().startsWith('{')) {
    const v = parseAnswer(validationSchema(), jsonBody(a, what), what);
    const messages = (v.Messages ?? []).map((m) => m.message);
    throw new AppError('ANAF_API_REFUSED', `${what}: ANAF did not render the invoice: ${anafText(messages.join(' | ') || v.stare, 400) ?? v.stare}`);
  }
  throw new AppError('ANAF_API_BAD_ANSWER', `${what}: neither a PDF nor ANAF's JSON (${a.mediaType || 'no content type'})`);
}
