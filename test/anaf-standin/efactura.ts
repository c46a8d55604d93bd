// The stand-in's e-Factura (…/FCTEL/rest): uploads processed after a configurable delay into
// ok / nok / "XML cu erori nepreluat de sistem", stareMesaj, both message lists, descarcare
// as ANAF's ZIP (the document and ANAF's signature over it), and the token-less validare and
// transformare. Answers, error texts and limits as ANAF's (../shared/anaf-facts.md).
import { createHash, sign as rsaSign, type KeyObject } from 'node:crypto';
import { zipSync, strToU8 } from 'fflate';
import { XMLValidator } from 'fast-xml-parser';
import type { LimitCounter } from './efactura-limits.js';
import {
  NS_ERRORS,
  anafStamp,
  binaryReply,
  eroare,
  jsonReply,
  springError,
  stateHeader,
  traceId,
  uploadHeader,
  xmlEscape,
  type ApiReply,
} from './efactura-replies.js';

export type Outcome = 'ok' | 'nok' | 'xml-errors';

export interface Processing {
  /** How long an upload stays "in prelucrare" (stand-in clock). */
  delayMs: number;
  /** What it ends as; a function decides per document. */
  outcome: Outcome | ((doc: { xml: Buffer; cif: string; standard: string }) => Outcome);
  /** The errors a `nok` carries in its ZIP. */
  errors: string[];
}

export const DEFAULT_NOK_ERRORS = [
  'E: validari globale  eroare: [BR-RO-110]-Daca Codul tarii cumparatorului (BT-55) este RO, atunci Subdiviziunea tarii (BT-54) trebuie codificata ISO 3166-2:RO.',
];

export interface EfacturaContext {
  nowMs(): number;
  counter: LimitCounter;
  processing: Processing;
  /** undefined: the token's holder has rights on every CIF. */
  spvCifs: string[] | undefined;
  retentionDays: number;
  signingKey: KeyObject;
}

export interface UploadRecord {
  index: string;
  idDescarcare: string;
  cif: string;
  standard: string;
  b2c: boolean;
  flags: { extern: boolean; autofactura: boolean; executare: boolean };
  xml: Buffer;
  uploadedAtMs: number;
  doneAtMs: number;
  outcome: Outcome;
  errors: string[];
}

export interface ListedMessage {
  id: string;
  cif: string;
  idSolicitare: string | undefined;
  tip: string;
  detalii: string;
  atMs: number;
  /** What descarcare gives for it. */
  document: Buffer;
  documentName: string;
}

export type ZipFault = 'traversal' | 'bomb' | 'truncated';

const ROOT_OF: Record<string, string> = { UBL: 'Invoice', CN: 'CreditNote', CII: 'CrossIndustryInvoice', RASP: 'header' };
const DAY_MS = 86_400_000;
const MAX_BODY = 5 * 1024 * 1024;
export const PAGE_SIZE = 500;

/** The local name of the document's root element, or undefined when it is not well-formed XML. */
export function rootName(xml: Buffer): string | undefined {
  const text = xml.toString('utf8');
  if (XMLValidator.validate(text) !== true) return undefined;
  const m = /<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]/.exec(text.replace(/<\?[\s\S]*?\?>/g, '').replace(/<!--[\s\S]*?-->/g, ''));
  return m?.[1];
}

/** What ANAF's validare finds in an invoice, reduced to a few of its rules. */
export function findings(xml: Buffer, expectedRoot: string): string[] {
  const root = rootName(xml);
  if (root === undefined) return ['Fisierul transmis nu este un XML valid.'];
  if (root !== expectedRoot) return [`E: validari globale  eroare: Elementul radacina trebuie sa fie ${expectedRoot}, nu ${root}.`];
  const text = xml.toString('utf8');
  const out: string[] = [];
  if (!/<(\w+:)?ID[\s>]/.test(text)) out.push('E: validari globale  eroare: [BR-02]-O factura trebuie sa aiba un numar de factura (BT-1).');
  if (!/<(\w+:)?IssueDate[\s>]/.test(text)) out.push('E: validari globale  eroare: [BR-03]-O factura trebuie sa aiba data emiterii facturii (BT-2).');
  return out;
}

export class EfacturaStandin {
  readonly uploads = new Map<string, UploadRecord>();
  readonly seeded: ListedMessage[] = [];
  private nextIndex = 5_000_000_001;
  private nextDownload = 3_000_000_001;

  constructor(private readonly ctx: EfacturaContext) {}

  hasRight(cif: string): boolean {
    return this.ctx.spvCifs === undefined || this.ctx.spvCifs.includes(cif);
  }

  /** Received invoices (FACTURA PRIMITA) or other messages for a CIF, for the lists and descarcare. */
  seed(cif: string, n: number, opts: { tip?: string; atMs?: number } = {}): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = String(this.nextDownload++);
      const doc = Buffer.from(
        `<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>P-${id}</cbc:ID><cbc:IssueDate>2026-11-30</cbc:IssueDate></Invoice>`,
      );
      this.seeded.push({
        id,
        cif,
        idSolicitare: String(this.nextIndex++),
        tip: opts.tip ?? 'FACTURA PRIMITA',
        detalii: `Factura cu id_incarcare=${id} emisa de cif_emitent=8000000000 pentru cif_beneficiar=${cif}`,
        atMs: opts.atMs ?? this.ctx.nowMs(),
        document: doc,
        documentName: `${id}.xml`,
      });
      ids.push(id);
    }
    return ids;
  }

  upload(q: URLSearchParams, body: Buffer, b2c: boolean): ApiReply {
    const now = this.ctx.nowMs();
    const standard = q.get('standard');
    const cif = q.get('cif');
    if (!standard || !cif) return springError(400, 'Bad Request', 'Parametrii standard si cif sunt obligatorii', now);
    const refuse = (e: string): ApiReply => uploadHeader(now, { errors: [e] });
    if (!ROOT_OF[standard]) return refuse('Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP');
    if (!/^\d{1,13}$/.test(cif)) return refuse(`CIF introdus= ${cif} nu este un numar`);
    for (const flag of ['extern', 'autofactura', 'executare']) {
      const v = q.get(flag);
      if (v !== null && v !== 'DA') return refuse(`Valoarea acceptata pentru parametrul ${flag} este DA`);
    }
    if (!this.hasRight(cif)) return refuse(`Nu aveti drept in SPV pentru CIF=${cif}`);
    if (standard === 'RASP') {
      const limit = this.ctx.counter.day('raspUpload', cif, now);
      if (limit !== undefined) return refuse(`S-au facut deja ${limit} incarcari de mesaje de tip RASP de catre CUI=${cif} in cursul zilei`);
    }
    if (body.length === 0) return refuse('Fisierul transmis este gol');
    if (body.length > MAX_BODY) return refuse('Marime fisier transmis mai mare de 5 MB.');
    const root = rootName(body);
    if (root === undefined)
      return refuse('Fisierul transmis nu este valid. org.xml.sax.SAXParseException: XML document structures must start and end within the same entity.');
    if (root !== ROOT_OF[standard]) {
      return refuse(`Fisierul transmis nu este valid. cvc-elt.1.a: Cannot find the declaration of element '${root}' pentru standardul ${standard}.`);
    }
    const p = this.ctx.processing;
    const outcome = typeof p.outcome === 'function' ? p.outcome({ xml: body, cif, standard }) : p.outcome;
    const index = String(this.nextIndex++);
    this.uploads.set(index, {
      index,
      idDescarcare: String(this.nextDownload++),
      cif,
      standard,
      b2c,
      flags: { extern: q.get('extern') === 'DA', autofactura: q.get('autofactura') === 'DA', executare: q.get('executare') === 'DA' },
      xml: Buffer.from(body),
      uploadedAtMs: now,
      doneAtMs: now + p.delayMs,
      outcome,
      errors: [...p.errors],
    });
    return uploadHeader(now, { index });
  }

  stateOf(u: UploadRecord, now: number): Outcome | 'in prelucrare' {
    return now < u.doneAtMs ? 'in prelucrare' : u.outcome;
  }

  stareMesaj(q: URLSearchParams): ApiReply {
    const now = this.ctx.nowMs();
    const id = q.get('id_incarcare');
    if (!id) return springError(400, 'Bad Request', 'Parametrul id_incarcare este obligatoriu', now);
    if (!/^\d+$/.test(id)) return stateHeader({ errors: [`Id_incarcare introdus= ${id} nu este un numar intreg`] });
    const limit = this.ctx.counter.day('stareMesaj', id, now);
    if (limit !== undefined)
      return stateHeader({ errors: [`S-au facut deja ${limit} interogari de stare pentru mesajul cu id_incarcare= ${id} in cursul zilei`] });
    const u = this.uploads.get(id);
    if (!u) return stateHeader({ errors: [`Nu exista factura cu id_incarcare= ${id}`] });
    if (!this.hasRight(u.cif)) return stateHeader({ errors: [`Nu aveti dreptul de inteorgare pentru id_incarcare= ${id}`] });
    const s = this.stateOf(u, now);
    if (s === 'in prelucrare') return stateHeader({ stare: 'in prelucrare' });
    if (s === 'xml-errors') return stateHeader({ stare: 'XML cu erori nepreluat de sistem' });
    return stateHeader({ stare: s, idDescarcare: u.idDescarcare });
  }

  /** Every message ANAF would list now: finished uploads (not "XML cu erori") and seeded ones. */
  messages(now: number): ListedMessage[] {
    const out: ListedMessage[] = [];
    for (const u of this.uploads.values()) {
      if (now < u.doneAtMs || u.outcome === 'xml-errors') continue;
      const ok = u.outcome === 'ok';
      out.push({
        id: u.idDescarcare,
        cif: u.cif,
        idSolicitare: u.index,
        tip: ok ? 'FACTURA TRIMISA' : 'ERORI FACTURA',
        detalii: ok
          ? `Factura cu id_incarcare=${u.index} emisa de cif_emitent=${u.cif} pentru cif_beneficiar=8000000000`
          : `Erori de validare identificate la factura primita cu id_incarcare=${u.index}`,
        atMs: u.doneAtMs,
        document: ok ? u.xml : this.errorsXml(u),
        documentName: `${u.index}.xml`,
      });
    }
    return [...out, ...this.seeded].sort((a, b) => a.atMs - b.atMs || a.id.localeCompare(b.id));
  }

  private errorsXml(u: UploadRecord): Buffer {
    const errs = u.errors.map((e) => `<Error errorMessage="${xmlEscape(e)}"/>`).join('');
    return Buffer.from(
      `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<header xmlns="${NS_ERRORS}" Index_incarcare="${u.index}" Cif_emitent="${u.cif}">${errs}</header>`,
    );
  }

  private static readonly FILTER_TIP: Record<string, RegExp> = { E: /^ERORI/, T: /TRIMISA$/, P: /PRIMITA$/, R: /^MESAJ CUMPARATOR/ };

  private listJson(msgs: ListedMessage[]) {
    return msgs.map((m) => ({
      data_creare: anafStamp(m.atMs),
      cif: m.cif,
      id_solicitare: m.idSolicitare,
      detalii: m.detalii,
      tip: m.tip,
      id: m.id,
    }));
  }

  /** Shared checks of both lists; a reply when the request is refused. */
  private listGuard(q: URLSearchParams, kind: 'listaSimple' | 'listaPaginated', now: number): ApiReply | { cif: string; filter: RegExp | undefined } {
    const cif = q.get('cif') ?? '';
    if (!/^\d{1,13}$/.test(cif)) return eroare(`CIF introdus= ${cif} nu este un numar`, 'Lista Mesaje');
    const f = q.get('filtru');
    if (f !== null && !EfacturaStandin.FILTER_TIP[f]) return eroare('Valorile acceptate pentru parametrul filtru sunt E, T, P sau R', 'Lista Mesaje');
    if (!this.hasRight(cif)) return eroare(`Nu aveti drept in SPV pentru CIF=${cif}`, 'Lista Mesaje');
    const limit = this.ctx.counter.day(kind, cif, now);
    if (limit !== undefined) return eroare(`S-au facut deja ${limit} interogari de lista mesaje de catre utilizator in cursul zilei`, 'Lista Mesaje');
    return { cif, filter: f === null ? undefined : EfacturaStandin.FILTER_TIP[f] };
  }

  lista(q: URLSearchParams): ApiReply {
    const now = this.ctx.nowMs();
    const zileRaw = q.get('zile');
    if (zileRaw === null || q.get('cif') === null) return springError(400, 'Bad Request', 'Parametrii zile si cif sunt obligatorii', now);
    if (!/^\d+$/.test(zileRaw)) return eroare(`Numarul de zile introdus= ${zileRaw} nu este un numar intreg`, 'Lista Mesaje');
    const zile = Number(zileRaw);
    if (zile < 1 || zile > 60) return eroare('Numarul de zile trebuie sa fie intre 1 si 60', 'Lista Mesaje');
    const g = this.listGuard(q, 'listaSimple', now);
    if ('status' in g) return g;
    const msgs = this.messages(now).filter((m) => m.cif === g.cif && m.atMs >= now - zile * DAY_MS && m.atMs <= now && (!g.filter || g.filter.test(m.tip)));
    if (msgs.length === 0) return eroare(`Nu exista mesaje in ultimele ${zile} zile`, 'Lista Mesaje');
    if (msgs.length > PAGE_SIZE) {
      return eroare(
        `Lista de mesaje este mai mare decat numarul de ${PAGE_SIZE} elemente permise in pagina. Folositi endpoint-ul cu paginatie.`,
        'Lista Mesaje',
      );
    }
    return jsonReply({ mesaje: this.listJson(msgs), serial: '1234AA456', cui: g.cif, titlu: `Lista Mesaje disponibile din ultimele ${zile} zile` });
  }

  listaPaginated(q: URLSearchParams): ApiReply {
    const now = this.ctx.nowMs();
    const [s, e, p] = [q.get('startTime'), q.get('endTime'), q.get('pagina')];
    if (s === null || e === null || p === null || q.get('cif') === null) {
      return springError(400, 'Bad Request', 'Parametrii startTime, endTime, cif si pagina sunt obligatorii', now);
    }
    for (const [name, v] of [
      ['startTime', s],
      ['endTime', e],
      ['pagina', p],
    ] as const) {
      if (!/^\d+$/.test(v)) return eroare(`${name} = ${v} nu este un numar sau nu are o valoare acceptata de sistem`, 'Lista Mesaje');
    }
    const [start, end, page] = [Number(s), Number(e), Number(p)];
    if (start < now - this.ctx.retentionDays * DAY_MS)
      return eroare(`startTime = ${s} nu poate fi mai vechi de ${this.ctx.retentionDays} de zile fata de momentul requestului`, 'Lista Mesaje');
    if (end > now) return eroare(`endTime = ${e} nu poate fi in viitor`, 'Lista Mesaje');
    if (end < start) return eroare(`endTime = ${e} nu poate fi mai mic decat startTime = ${s}`, 'Lista Mesaje');
    const g = this.listGuard(q, 'listaPaginated', now);
    if ('status' in g) return g;
    const all = this.messages(now).filter((m) => m.cif === g.cif && m.atMs >= start && m.atMs <= end && (!g.filter || g.filter.test(m.tip)));
    if (all.length === 0) return eroare('Nu exista mesaje in intervalul selectat', 'Lista Mesaje');
    const pages = Math.ceil(all.length / PAGE_SIZE);
    if (page < 1 || page > pages) return eroare(`Pagina solicitata ${page} este mai mare decat numarul toatal de pagini ${pages}`, 'Lista Mesaje');
    const slice = all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    return jsonReply({
      mesaje: this.listJson(slice),
      numar_inregistrari_in_pagina: slice.length,
      numar_total_inregistrari_per_pagina: PAGE_SIZE,
      numar_total_inregistrari: all.length,
      numar_total_pagini: pages,
      index_pagina_curenta: page,
      serial: '1234AA456',
      cui: g.cif,
      titlu: `Lista Mesaje disponibile din intervalul ${new Date(start).toISOString()} - ${new Date(end).toISOString()}`,
    });
  }

  descarcare(q: URLSearchParams, zipFault: ZipFault | undefined): ApiReply {
    const now = this.ctx.nowMs();
    const id = q.get('id');
    if (!id) return springError(400, 'Bad Request', 'Parametrul id este obligatoriu', now);
    if (!/^\d+$/.test(id)) return eroare(`Id descarcare introdus= ${id} nu este un numar intreg`, 'Descarcare mesaj');
    const limit = this.ctx.counter.day('descarcare', id, now);
    if (limit !== undefined) return eroare(`S-au facut deja ${limit} descarcari la mesajul cu id_descarcare=${id} in cursul zilei`, 'Descarcare mesaj');
    const m = this.messages(now).find((x) => x.id === id);
    if (!m) return eroare(`Pentru id=${id} nu exista inregistrata nici o factura`, 'Descarcare mesaj');
    if (!this.hasRight(m.cif)) return eroare('Nu aveti dreptul sa descarcati aceasta factura', 'Descarcare mesaj');
    if (m.atMs < now - this.ctx.retentionDays * DAY_MS) {
      return eroare(
        `Fisierul nu mai poate fi descarcat pentru ca a trecut perioada de ${this.ctx.retentionDays} de zile in care este disponibil`,
        'Descarcare mesaj',
      );
    }
    const zip = this.zipFor(m, zipFault);
    return binaryReply(zip, 'application/octet-stream', { 'Content-Disposition': `attachment; filename="${id}.zip"` });
  }

  /** ANAF's signature file: an XMLDSig over the document, signed with the stand-in's key. */
  private signature(doc: Buffer, name: string): Buffer {
    const digest = createHash('sha256').update(doc).digest('base64');
    const signedInfo = `<SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI="${xmlEscape(name)}"><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue>${digest}</DigestValue></Reference></SignedInfo>`;
    const value = rsaSign('sha256', Buffer.from(signedInfo), this.ctx.signingKey).toString('base64');
    return Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">${signedInfo}<SignatureValue>${value}</SignatureValue></Signature>`,
    );
  }

  private zipFor(m: ListedMessage, fault: ZipFault | undefined): Buffer {
    const index = m.documentName.replace(/\.xml$/, '');
    const files: Record<string, Uint8Array> = { [m.documentName]: m.document, [`semnatura_${index}.xml`]: this.signature(m.document, m.documentName) };
    if (fault === 'traversal') files[`../../${m.documentName}`] = strToU8('<x/>');
    // 40 MiB of zeros compress to about 40 KiB: past any sane limit once inflated.
    if (fault === 'bomb') files[m.documentName] = new Uint8Array(40 * 1024 * 1024);
    const zip = Buffer.from(zipSync(files, { level: 6 }));
    return fault === 'truncated' ? zip.subarray(0, Math.floor(zip.length / 2)) : zip;
  }

  validare(standard: string, body: Buffer): ApiReply {
    const root = standard === 'FACT1' ? 'Invoice' : standard === 'FCN' ? 'CreditNote' : undefined;
    if (!root) return springError(400, 'Bad Request', 'Standardul acceptat este FACT1 sau FCN', this.ctx.nowMs());
    const f = findings(body, root);
    return jsonReply(
      f.length === 0 ? { stare: 'ok', trace_id: traceId() } : { stare: 'nok', Messages: f.map((message) => ({ message })), trace_id: traceId() },
    );
  }

  transformare(standard: string, body: Buffer, skipValidation: boolean): ApiReply {
    const root = standard === 'FACT1' ? 'Invoice' : standard === 'FCN' ? 'CreditNote' : undefined;
    if (!root) return springError(400, 'Bad Request', 'Standardul acceptat este FACT1 sau FCN', this.ctx.nowMs());
    const f = skipValidation ? (rootName(body) === undefined ? ['Fisierul transmis nu este un XML valid.'] : []) : findings(body, root);
    if (f.length > 0) return jsonReply({ stare: 'nok', Messages: f.map((message) => ({ message })), trace_id: traceId() });
    const id = /<(?:\w+:)?ID>([^<]{1,64})</.exec(body.toString('utf8'))?.[1] ?? '';
    return binaryReply(minimalPdf(`Factura ${id}`), 'application/pdf');
  }
}

/** A one-page PDF that says `text`: enough for a client to recognise and keep. */
export function minimalPdf(text: string): Buffer {
  const safe = text.replace(/[()\\]/g, '');
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${`BT /F1 12 Tf 72 770 Td (${safe}) Tj ET`.length} >>\nstream\nBT /F1 12 Tf 72 770 Td (${safe}) Tj ET\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
