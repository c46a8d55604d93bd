/**
 * e-Factura `descarcare?id=`: the ZIP of a message (the signed invoice, or the errors of a
 * rejected one), for 60 days, at most 10 times a day per message. A refusal comes as JSON
 * `{eroare}` with HTTP 200 instead of the ZIP.
 */
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { anafRefusal, jsonBody } from './answers.js';
import { unpackMessage, type ArchiveLimits, type UnpackedMessage } from './archive.js';
import { checkId, exchange, FILE_ANSWER_MAX, url, type ApiCall } from './call.js';
import { eroareSchema } from './schemas.js';

export interface DownloadedMessage extends UnpackedMessage {
  /** The ZIP as ANAF sent it, for whoever must keep the original. */
  zip: Buffer;
}

export async function downloadMessage(call: ApiCall, idDescarcare: string, limits?: ArchiveLimits): Promise<DownloadedMessage> {
  const what = 'e-Factura descarcare';
  const a = await exchange(call.wire, {
    method: 'GET',
    url: url(call.endpoints.efactura, 'descarcare', { id: checkId(idDescarcare, 'id') }),
    accessToken: call.accessToken,
    accept: 'application/zip, application/octet-stream, application/json;q=0.5',
    maxAnswerBytes: FILE_ANSWER_MAX,
    what,
  });
  if (a.mediaType === 'application/json' || a.body.subarray(0, 1).toString() === '{') {
    const e = z.safeParse(eroareSchema(), jsonBody(a, what));
    if (e.success) throw anafRefusal(what, [e.data.eroare]);
    throw new AppError('ANAF_API_BAD_ANSWER', `${what}: JSON without eroare where a ZIP was expected`);
  }
  return { ...unpackMessage(a.body, limits), zip: a.body };
}
