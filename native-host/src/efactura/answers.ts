/**
 * How ANAF's e-Factura and e-Transport APIs say no (../shared/anaf-facts.md), each as one typed
 * error: most refusals come as HTTP 200 with a JSON `eroare` (or e-Transport's `Errors[]`) or
 * an XML `Errors` element, told apart only by their Romanian text; 400 for a missing
 * parameter; 401/403 for a token ANAF does not take; 429 past 1000 calls a minute; 5xx when it
 * is down; and an F5 firewall that answers HTTP 200 with an HTML page instead of ANAF.
 */
import { AppError, type ErrorCode } from '#shared/errors.js';
import { FIREWALL_PAGE } from '../oauth/anaf-answers.js';
import type { WireAnswer } from './wire.js';

const SUPPORT_ID_RE = /support ID is:?\s*(\d{1,40})/i;

/**
 * ANAF's words, fit for a detail: one line, no control characters, short, and any long run of
 * token characters (an echoed token) cut out. Its "CIF=…" and "id_descarcare=…" stay readable.
 */
export function anafText(s: unknown, max = 300): string | undefined {
  if (typeof s !== 'string' || s === '') return undefined;
  return s
    .replace(/\p{C}+/gu, ' ')
    .replace(/[A-Za-z0-9_\-.~+/=]{40,}/g, '…')
    .trim()
    .slice(0, max);
}

/** ANAF's texts, by what the user must do about them. Order matters: the first match wins. */
const TEXT_RULES: readonly [RegExp, ErrorCode][] = [
  // "Nu aveti drept in SPV pentru CIF=…", "Nu exista niciun CIF pentru care sa aveti drept in SPV",
  // "Nu aveti dreptul de inteorgare pentru id_incarcare=…", "Nu aveti dreptul sa descarcati …".
  [/drept(uri)?\s+(in|\u00een)\s+SPV|nu aveti dreptul|lipsa drepturi/i, 'ANAF_API_NO_SPV_RIGHT'],
  // The per-minute limit is documented as a 429; should it come as a 200 text, it is still per minute.
  [/(pe|per)\s+minut/i, 'ANAF_API_RATE_LIMITED'],
  // "S-au facut deja 1000 interogari …", "S-au facut deja 10 descarcari la mesajul …", "limita … atinsa".
  [/s-au\s+(facut|efectuat)\s+deja\s+\d+|limita\s+(de\s+)?apeluri|numarul maxim de (apeluri|interogari)/i, 'ANAF_API_DAILY_LIMIT'],
  // "Fisierul nu mai poate fi descarcat … perioada de 60 de zile …", "startTime … mai vechi de 60 de zile".
  [/60\s+de\s+zile|nu mai poate fi descarcat/i, 'ANAF_API_TOO_OLD'],
  // "Nu exista factura cu id_incarcare= …", "Pentru id=… nu exista inregistrata nici o factura".
  [/nu exista (factura|inregistrat|nici\s?o factura|mesaj(ul)? cu)|nu exista inregistrata/i, 'ANAF_API_NOT_FOUND'],
];

/** ANAF's refusal, from its own text. The text goes into the detail, shortened and scrubbed. */
export function anafRefusal(what: string, texts: string[]): AppError {
  const all = texts.join(' | ');
  const code = TEXT_RULES.find(([re]) => re.test(all))?.[1] ?? 'ANAF_API_REFUSED';
  return new AppError(code, `${what}: ANAF answered "${anafText(all, 400) ?? ''}"`);
}

/** "Nu exista mesaje in ultimele 5 zile", "… in intervalul selectat": an empty list, not a failure. */
export const NO_MESSAGES_RE = /nu exista mesaje/i;

function bearerError(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header.join(', ') : header;
  return /\berror\s*=\s*"?([A-Za-z0-9_.-]{1,64})"?/.exec(h ?? '')?.[1];
}

function asText(a: WireAnswer): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(a.body.subarray(0, 64 * 1024));
}

/** The `message` of ANAF's Spring-style 4xx/5xx JSON ({timestamp, status, error, message}). */
function springMessage(a: WireAnswer): string | undefined {
  if (a.mediaType !== 'application/json') return undefined;
  try {
    const v: unknown = JSON.parse(asText(a));
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const m = typeof o.message === 'string' ? o.message : typeof o.eroare === 'string' ? o.eroare : typeof o.error === 'string' ? o.error : undefined;
      return anafText(m, 300);
    }
  } catch {
    /* not JSON after all */
  }
  return undefined;
}

/** The firewall's page in place of ANAF's answer (HTTP 200 HTML), as ANAF_API_FIREWALL. */
export function firewallRejection(a: WireAnswer, what: string): AppError | undefined {
  if (a.mediaType !== 'text/html' && !a.body.subarray(0, 512).toString('latin1').trimStart().startsWith('<')) return undefined;
  const text = asText(a);
  if (!FIREWALL_PAGE.test(text)) return undefined;
  const id = SUPPORT_ID_RE.exec(text)?.[1];
  return new AppError('ANAF_API_FIREWALL', `${what}: "The requested URL was rejected"${id ? ` (support ID ${id})` : ''}`);
}

/** Anything but a 200 from ANAF itself, as the typed error it stands for; undefined for a 200. */
export function httpFailure(a: WireAnswer, what: string): AppError | undefined {
  const s = a.status;
  if (s === 200) return firewallRejection(a, what);
  const said = springMessage(a);
  const tail = said ? `: ${said}` : '';
  if (s === 401 || s === 403) {
    const err = bearerError(a.headers['www-authenticate']);
    return new AppError('ANAF_API_NOT_AUTHORIZED', `${what}: ANAF answered ${s}${err ? ` ${err}` : ''}${tail}`);
  }
  if (s === 429) {
    const after = a.headers['retry-after'];
    return new AppError(
      'ANAF_API_RATE_LIMITED',
      `${what}: ANAF answered 429${typeof after === 'string' ? ` (retry after ${anafText(after, 32)} s)` : ''}${tail}`,
    );
  }
  if (s >= 500) return new AppError('ANAF_API_UNAVAILABLE', `${what}: ANAF answered HTTP ${s}${tail}`);
  if (s >= 300 && s < 400) {
    let where = 'elsewhere';
    try {
      const loc = a.headers.location;
      if (typeof loc === 'string') where = anafText(new URL(loc, 'https://api.anaf.ro').pathname, 100) ?? where;
    } catch {
      /* an unreadable Location says nothing more */
    }
    return new AppError('ANAF_API_BAD_ANSWER', `${what}: ANAF answered ${s}, a redirect to ${where}`);
  }
  if (s === 404)
    return new AppError('ANAF_API_REFUSED', `${what}: ANAF answered 404 (this service is not offered at this address or in this environment)${tail}`);
  if (s >= 400) return new AppError('ANAF_API_REFUSED', `${what}: ANAF answered ${s}${tail}`);
  return new AppError('ANAF_API_BAD_ANSWER', `${what}: ANAF answered HTTP ${s}`);
}

/** The answer's body as JSON, when ANAF sent JSON; ANAF_API_BAD_ANSWER otherwise. */
export function jsonBody(a: WireAnswer, what: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(a.body);
  } catch {
    throw new AppError('ANAF_API_BAD_ANSWER', `${what}: the answer is not UTF-8 text`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('ANAF_API_BAD_ANSWER', `${what}: the answer is not JSON (${a.mediaType || 'no content type'})`);
  }
}

/**
 * Whether an upload that failed this way may still have been accepted by ANAF: the answer was
 * lost, garbled, or a server error. Such an upload must be looked for in ANAF's message list
 * before it is sent again; after any other failure, nothing was accepted.
 */
export function uploadOutcomeUnknown(e: AppError): boolean {
  return e.code === 'ANAF_API_ANSWER_LOST' || e.code === 'ANAF_API_UNAVAILABLE' || e.code === 'ANAF_API_BAD_ANSWER';
}
