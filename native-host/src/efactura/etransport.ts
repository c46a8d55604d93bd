/**
 * e-Transport (…/ETRANSPORT/ws/v1): declare a transport (`upload/ETRANSP/{cif}/{version}`,
 * XML as application/xml; ANAF answers with the UIT at once, valid once stareMesaj says ok),
 * follow it (`stareMesaj/{id}`) and list the last 1..60 days (`lista/{days}/{cif}`). Every
 * answer is JSON with errors in `Errors[]`; an empty list comes as the error "Nu exista
 * mesaje …". ANAF removed e-Transport's download.
 */
import { AppError } from '#shared/errors.js';
import { anafRefusal, jsonBody, NO_MESSAGES_RE } from './answers.js';
import { checkDocument, checkId, exchange, LIST_ANSWER_MAX, normalizeCif, SMALL_ANSWER_MAX, url, type ApiCall } from './call.js';
import { etransportSchema, parseAnswer } from './schemas.js';
import type { MessageStateName } from './status.js';
import type { WireAnswer } from './wire.js';

export interface TransportReceipt {
  indexIncarcare: string;
  /** The transport's code; valid only once stareMesaj answers ok. */
  uit: string | undefined;
  dateResponse: string | undefined;
  traceId: string | undefined;
}

export interface TransportState {
  /** e-Transport has no "XML cu erori" state; the others as in e-Factura. */
  state: Exclude<MessageStateName, 'xml-errors'>;
  raw: string;
  /** Why a `nok` was rejected, in ANAF's words. */
  errors: string[];
}

export interface TransportList {
  /** ANAF's records as sent (tip, stare, uit, id_incarcare, data_creare, …): many optional fields. */
  records: Record<string, unknown>[];
}

const errorsOf = (b: { Errors?: { errorMessage: string }[] | undefined; error?: string | undefined }): string[] => [
  ...(b.Errors ?? []).map((e) => e.errorMessage),
  ...(b.error !== undefined ? [b.error] : []),
];

function envelope(a: WireAnswer, what: string) {
  return parseAnswer(etransportSchema(), jsonBody(a, what), what);
}

export async function etransportUpload(call: ApiCall, input: { xml: Uint8Array | string; cif: string; version?: 1 | 2 }): Promise<TransportReceipt> {
  const what = 'e-Transport upload';
  const version = input.version ?? 2;
  if (version !== 1 && version !== 2) throw new AppError('BAD_REQUEST', 'the e-Transport schema version is 1 or 2');
  const a = await exchange(call.wire, {
    method: 'POST',
    url: url(call.endpoints.etransport, `upload/ETRANSP/${normalizeCif(input.cif)}/${version}`),
    accessToken: call.accessToken,
    contentType: 'application/xml',
    accept: 'application/json',
    body: checkDocument(input.xml),
    maxAnswerBytes: SMALL_ANSWER_MAX,
    what,
  });
  const b = envelope(a, what);
  const errors = errorsOf(b);
  if (String(b.ExecutionStatus) === '1' || errors.length > 0) throw anafRefusal(what, errors.length ? errors : ['ExecutionStatus 1 without a message']);
  if (b.index_incarcare === undefined) throw new AppError('ANAF_API_BAD_ANSWER', `${what}: accepted without index_incarcare`);
  return { indexIncarcare: b.index_incarcare, uit: b.UIT, dateResponse: b.dateResponse, traceId: b.trace_id };
}

const STATES: Record<string, TransportState['state']> = { ok: 'ok', nok: 'nok', 'in prelucrare': 'processing' };

export async function etransportState(call: ApiCall, indexIncarcare: string): Promise<TransportState> {
  const what = 'e-Transport stareMesaj';
  const a = await exchange(call.wire, {
    method: 'GET',
    url: url(call.endpoints.etransport, `stareMesaj/${checkId(indexIncarcare, 'id_incarcare')}`),
    accessToken: call.accessToken,
    accept: 'application/json',
    maxAnswerBytes: SMALL_ANSWER_MAX,
    what,
  });
  const b = envelope(a, what);
  const errors = errorsOf(b);
  // Without a state, the errors are a refusal of the question (unknown id, no right, limit).
  if (b.stare === undefined) throw anafRefusal(what, errors.length ? errors : ['no stare in the answer']);
  const raw = b.stare.trim();
  const state = STATES[raw.toLowerCase()];
  if (!state) throw new AppError('ANAF_API_BAD_ANSWER', `${what}: unknown state "${raw.slice(0, 60)}"`);
  return { state, raw, errors };
}

export async function etransportList(call: ApiCall, q: { cif: string; days: number }): Promise<TransportList> {
  if (!Number.isInteger(q.days) || q.days < 1 || q.days > 60) throw new AppError('BAD_REQUEST', 'days is a whole number from 1 to 60');
  const what = 'e-Transport lista';
  const a = await exchange(call.wire, {
    method: 'GET',
    url: url(call.endpoints.etransport, `lista/${q.days}/${normalizeCif(q.cif)}`),
    accessToken: call.accessToken,
    accept: 'application/json',
    maxAnswerBytes: LIST_ANSWER_MAX,
    what,
  });
  const b = envelope(a, what);
  const errors = errorsOf(b);
  if (errors.length > 0) {
    if (errors.every((e) => NO_MESSAGES_RE.test(e))) return { records: [] };
    throw anafRefusal(what, errors);
  }
  return { records: b.mesaje ?? [] };
}
