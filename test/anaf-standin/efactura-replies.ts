// The shapes of ANAF's API answers, for the stand-in's e-Factura and e-Transport endpoints.
import { randomBytes } from 'node:crypto';

export interface ApiReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
export const NS_UPLOAD = 'mfp:anaf:dgti:spv:respUploadFisier:v1';
export const NS_STATE = 'mfp:anaf:dgti:efactura:stareMesajFactura:v1';
export const NS_ERRORS = 'mfp:anaf:dgti:efactura:mesajEroriFactuta:v1';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** ANAF's yyyyMMddHHmm, Romanian time. */
export function anafStamp(ms: number): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Bucharest',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '00';
  return `${get('year')}${get('month')}${get('day')}${get('hour')}${get('minute')}`;
}

export function traceId(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function xmlReply(body: string): ApiReply {
  return { status: 200, headers: { 'Content-Type': 'application/xml' }, body: Buffer.from(XML_DECL + body, 'utf8') };
}

export function jsonReply(value: unknown, status = 200): ApiReply {
  return { status, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify(value), 'utf8') };
}

export function binaryReply(body: Buffer, contentType: string, extra: Record<string, string> = {}): ApiReply {
  return { status: 200, headers: { 'Content-Type': contentType, ...extra }, body };
}

export function htmlReply(status: number, html: string): ApiReply {
  return { status, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' }, body: Buffer.from(html, 'utf8') };
}

/** Spring Boot's error JSON, which ANAF's API answers 400/404/5xx with. */
export function springError(status: number, error: string, message: string, nowMs: number, extra: Record<string, string> = {}): ApiReply {
  const r = jsonReply({ timestamp: new Date(nowMs).toISOString(), status, error, message }, status);
  return { ...r, headers: { ...r.headers, ...extra } };
}

/** e-Factura upload header: accepted, or ExecutionStatus="1" with its Errors. */
export function uploadHeader(nowMs: number, accepted: { index: string } | { errors: string[] }): ApiReply {
  const stamp = anafStamp(nowMs);
  if ('index' in accepted) return xmlReply(`<header xmlns="${NS_UPLOAD}" dateResponse="${stamp}" ExecutionStatus="0" index_incarcare="${accepted.index}"/>`);
  const errs = accepted.errors.map((e) => `<Errors errorMessage="${xmlEscape(e)}"/>`).join('');
  return xmlReply(`<header xmlns="${NS_UPLOAD}" dateResponse="${stamp}" ExecutionStatus="1">${errs}</header>`);
}

export function stateHeader(state: { stare: string; idDescarcare?: string } | { errors: string[] }): ApiReply {
  if ('errors' in state)
    return xmlReply(`<header xmlns="${NS_STATE}">${state.errors.map((e) => `<Errors errorMessage="${xmlEscape(e)}"/>`).join('')}</header>`);
  const id = state.idDescarcare ? ` id_descarcare="${state.idDescarcare}"` : '';
  return xmlReply(`<header xmlns="${NS_STATE}" stare="${xmlEscape(state.stare)}"${id}/>`);
}

export function eroare(text: string, titlu: string): ApiReply {
  return jsonReply({ eroare: text, titlu });
}

/** e-Transport's JSON refusal. */
export function etErrors(nowMs: number, errors: string[]): ApiReply {
  return jsonReply({ Errors: errors.map((errorMessage) => ({ errorMessage })), dateResponse: anafStamp(nowMs), ExecutionStatus: 1, trace_id: traceId() });
}
