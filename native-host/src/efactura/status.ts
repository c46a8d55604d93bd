/**
 * e-Factura `stareMesaj?id_incarcare=`: where ANAF is with an upload. ANAF allows 100 of these
 * per message per day; the caller keeps count.
 */
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { checkId, exchange, SMALL_ANSWER_MAX, url, type ApiCall } from './call.js';
import { headerAttrs, headerOf } from './header.js';

/** ANAF's four states, by name; `raw` keeps ANAF's own words. */
export type MessageStateName = 'processing' | 'ok' | 'nok' | 'xml-errors';

export interface MessageState {
  state: MessageStateName;
  raw: string;
  /** For `ok` (the signed invoice) and `nok` (the errors): what descarcare takes. */
  idDescarcare: string | undefined;
}

const STATES: Record<string, MessageStateName> = {
  'in prelucrare': 'processing',
  ok: 'ok',
  nok: 'nok',
  'xml cu erori nepreluat de sistem': 'xml-errors',
};

const stateSchema = () =>
  z.looseObject({
    stare: z.string().check(z.maxLength(100)),
    id_descarcare: z.optional(z.string().check(z.regex(/^\d{1,20}$/))),
  });

export async function messageState(call: ApiCall, indexIncarcare: string): Promise<MessageState> {
  const what = 'e-Factura stareMesaj';
  const a = await exchange(call.wire, {
    method: 'GET',
    url: url(call.endpoints.efactura, 'stareMesaj', { id_incarcare: checkId(indexIncarcare, 'id_incarcare') }),
    accessToken: call.accessToken,
    accept: 'application/xml, text/xml;q=0.9, application/json;q=0.5',
    maxAnswerBytes: SMALL_ANSWER_MAX,
    what,
  });
  const attrs = headerAttrs(headerOf(a, what), stateSchema(), what);
  const raw = attrs.stare.trim();
  const state = STATES[raw.toLowerCase()];
  if (!state) throw new AppError('ANAF_API_BAD_ANSWER', `${what}: unknown state "${raw.slice(0, 60)}"`);
  // An `ok` is only of use with its id; a `nok` still says "rejected" without one.
  if (state === 'ok' && attrs.id_descarcare === undefined) throw new AppError('ANAF_API_BAD_ANSWER', `${what}: state ok without id_descarcare`);
  return { state, raw, idDescarcare: attrs.id_descarcare };
}
