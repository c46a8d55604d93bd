/**
 * e-Factura's message lists: `listaMesajeFactura` (the last 1..60 days, at most 500 messages,
 * 1500 calls a day per CIF) and `listaMesajePaginatieFactura` (a time range in epoch ms within
 * the last 60 days, 500 a page, 100,000 calls a day per CIF). An empty list comes as an
 * `eroare` ("Nu exista mesaje …"): that is an empty result, not a failure.
 */
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { anafRefusal, jsonBody, NO_MESSAGES_RE } from './answers.js';
import { exchange, LIST_ANSWER_MAX, normalizeCif, url, type ApiCall } from './call.js';
import { messageListSchema, messageSchema, parseAnswer } from './schemas.js';

/** E errors, T sent, P received, R buyer's messages. */
export type MessageFilter = 'E' | 'T' | 'P' | 'R';
const FILTERS: readonly MessageFilter[] = ['E', 'T', 'P', 'R'];

export interface AnafMessage {
  /** The download id (descarcare?id=). */
  id: string;
  /** The upload index the message answers (id_solicitare); absent on some received invoices. */
  uploadIndex: string | undefined;
  cif: string;
  /** "FACTURA TRIMISA", "FACTURA PRIMITA", "ERORI FACTURA", "MESAJ CUMPARATOR PRIMIT / …". */
  type: string;
  details: string;
  /** ANAF's yyyyMMddHHmm (Romanian time), as sent. */
  createdAt: string;
  sellerCif: string | undefined;
  buyerCif: string | undefined;
}

export interface MessageList {
  messages: AnafMessage[];
  title: string | undefined;
}

export interface MessagePage extends MessageList {
  page: number;
  totalPages: number;
  totalRecords: number;
  perPage: number | undefined;
}

type RawMessage = z.infer<ReturnType<typeof messageSchema>>;

const toMessage = (m: RawMessage): AnafMessage => ({
  id: m.id,
  uploadIndex: m.id_solicitare,
  cif: m.cif,
  type: m.tip,
  details: m.detalii ?? '',
  createdAt: m.data_creare,
  sellerCif: m.cif_emitent,
  buyerCif: m.cif_beneficiar,
});

function checkFilter(f: MessageFilter | undefined): MessageFilter | undefined {
  if (f !== undefined && !FILTERS.includes(f)) throw new AppError('BAD_REQUEST', 'filter is one of E, T, P, R');
  return f;
}

type RawList = z.infer<ReturnType<typeof messageListSchema>>;

async function fetchList(call: ApiCall, path: string, query: Record<string, string | undefined>, what: string): Promise<RawList & { mesaje: RawMessage[] }> {
  const a = await exchange(call.wire, {
    method: 'GET',
    url: url(call.endpoints.efactura, path, query),
    accessToken: call.accessToken,
    accept: 'application/json',
    maxAnswerBytes: LIST_ANSWER_MAX,
    what,
  });
  const body = parseAnswer(messageListSchema(), jsonBody(a, what), what);
  if (body.eroare !== undefined) {
    if (NO_MESSAGES_RE.test(body.eroare)) return { ...body, mesaje: [] };
    throw anafRefusal(what, [body.eroare]);
  }
  if (body.mesaje === undefined) throw new AppError('ANAF_API_BAD_ANSWER', `${what}: neither mesaje nor eroare in the answer`);
  return { ...body, mesaje: body.mesaje };
}

export async function listMessages(call: ApiCall, q: { cif: string; days: number; filter?: MessageFilter }): Promise<MessageList> {
  if (!Number.isInteger(q.days) || q.days < 1 || q.days > 60) throw new AppError('BAD_REQUEST', 'days is a whole number from 1 to 60');
  const what = 'e-Factura listaMesajeFactura';
  const body = await fetchList(call, 'listaMesajeFactura', { zile: String(q.days), cif: normalizeCif(q.cif), filtru: checkFilter(q.filter) }, what);
  return { messages: body.mesaje.map(toMessage), title: body.titlu };
}

export interface PageQuery {
  cif: string;
  /** Epoch milliseconds; ANAF refuses a start more than 60 days back and an end in its future. */
  startTime: number;
  endTime: number;
  /** From 1. */
  page: number;
  filter?: MessageFilter;
}

export async function listMessagesPage(call: ApiCall, q: PageQuery): Promise<MessagePage> {
  if (!Number.isSafeInteger(q.startTime) || !Number.isSafeInteger(q.endTime) || q.startTime < 0 || q.endTime < q.startTime) {
    throw new AppError('BAD_REQUEST', 'startTime and endTime are epoch milliseconds, startTime ≤ endTime');
  }
  if (!Number.isInteger(q.page) || q.page < 1) throw new AppError('BAD_REQUEST', 'page is a whole number from 1');
  const what = 'e-Factura listaMesajePaginatieFactura';
  const body = await fetchList(
    call,
    'listaMesajePaginatieFactura',
    { startTime: String(q.startTime), endTime: String(q.endTime), cif: normalizeCif(q.cif), pagina: String(q.page), filtru: checkFilter(q.filter) },
    what,
  );
  const messages = body.mesaje.map(toMessage);
  return {
    messages,
    title: body.titlu,
    page: body.index_pagina_curenta ?? q.page,
    totalPages: body.numar_total_pagini ?? (messages.length > 0 ? 1 : 0),
    totalRecords: body.numar_total_inregistrari ?? messages.length,
    perPage: body.numar_total_inregistrari_per_pagina,
  };
}
