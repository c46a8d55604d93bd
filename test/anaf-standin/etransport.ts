// The stand-in's e-Transport (…/ETRANSPORT/ws/v1): upload/ETRANSP/{cif}/{version} answers the
// UIT at once, stareMesaj/{id} walks "in prelucrare" → ok / nok after the same processing delay
// as e-Factura, lista/{days}/{cif} lists the final states. JSON everywhere, errors in Errors[].
import { randomBytes } from 'node:crypto';
import type { LimitCounter } from './efactura-limits.js';
import { anafStamp, etErrors, jsonReply, springError, traceId, type ApiReply } from './efactura-replies.js';
import { rootName, type Processing } from './efactura.js';

export interface EtransportContext {
  nowMs(): number;
  counter: LimitCounter;
  processing: Processing;
  spvCifs: string[] | undefined;
}

export interface TransportRecord {
  index: string;
  uit: string;
  cif: string;
  version: string;
  xml: Buffer;
  uploadedAtMs: number;
  doneAtMs: number;
  ok: boolean;
  errors: string[];
}

const DAY_MS = 86_400_000;

export class EtransportStandin {
  readonly uploads = new Map<string, TransportRecord>();
  private nextIndex = 6_000_000_001;

  constructor(private readonly ctx: EtransportContext) {}

  private hasRight(cif: string): boolean {
    return this.ctx.spvCifs === undefined || this.ctx.spvCifs.includes(cif);
  }

  upload(standard: string, cif: string, version: string | undefined, body: Buffer): ApiReply {
    const now = this.ctx.nowMs();
    if (standard !== 'ETRANSP') return etErrors(now, ['Valoarea acceptata pentru parametrul standard este ETRANSP']);
    if (!/^\d{1,13}$/.test(cif)) return etErrors(now, [`CIF introdus= ${cif} nu este un numar`]);
    if (version !== undefined && version !== '1' && version !== '2') return etErrors(now, ['Valorile acceptate pentru versiune sunt 1 sau 2']);
    if (!this.hasRight(cif)) return etErrors(now, [`Nu aveti drept in SPV pentru CIF=${cif}`]);
    if (rootName(body) !== 'eTransport') return etErrors(now, ['Fisierul transmis nu este valid. Elementul radacina trebuie sa fie eTransport.']);
    const p = this.ctx.processing;
    const outcome = typeof p.outcome === 'function' ? p.outcome({ xml: body, cif, standard }) : p.outcome;
    const index = String(this.nextIndex++);
    const uit = randomBytes(8).toString('hex').toUpperCase().slice(0, 15);
    this.uploads.set(index, {
      index,
      uit,
      cif,
      version: version ?? '1',
      xml: Buffer.from(body),
      uploadedAtMs: now,
      doneAtMs: now + p.delayMs,
      ok: outcome === 'ok',
      errors: outcome === 'ok' ? [] : ['UIT-ul nu poate fi identificat.'],
    });
    const ref = /<[^>]*refDeclarant="([^"]{0,64})"/.exec(body.toString('utf8'))?.[1];
    return jsonReply({
      dateResponse: anafStamp(now),
      ExecutionStatus: 0,
      index_incarcare: Number(index),
      UIT: uit,
      trace_id: traceId(),
      ...(ref !== undefined ? { ref_declarant: ref } : {}),
      atentie: 'Verificati starea XML-ului transmis. Codul UIT este valabil din momentul in care apare ca valid dupa apelul de stare',
    });
  }

  stareMesaj(id: string): ApiReply {
    const now = this.ctx.nowMs();
    if (!/^\d+$/.test(id)) return etErrors(now, [`Id_incarcare introdus= ${id} nu este un numar intreg`]);
    const u = this.uploads.get(id);
    if (!u) return etErrors(now, [`Nu exista mesaj cu id_incarcare= ${id}`]);
    if (!this.hasRight(u.cif)) return etErrors(now, [`Nu aveti dreptul de inteorgare pentru id_incarcare= ${id}`]);
    const base = { dateResponse: anafStamp(now), trace_id: traceId() };
    if (now < u.doneAtMs) return jsonReply({ stare: 'in prelucrare', ...base, ExecutionStatus: 0 });
    if (u.ok) return jsonReply({ stare: 'ok', ...base, ExecutionStatus: 0 });
    return jsonReply({ stare: 'nok', ...base, ExecutionStatus: 0, Errors: u.errors.map((errorMessage) => ({ errorMessage })) });
  }

  lista(zileRaw: string, cif: string): ApiReply {
    const now = this.ctx.nowMs();
    if (!/^\d+$/.test(zileRaw)) return etErrors(now, [`Numarul de zile introdus= ${zileRaw} nu este un numar intreg`]);
    const zile = Number(zileRaw);
    if (zile < 1 || zile > 60) return etErrors(now, ['Numarul de zile trebuie sa fie intre 1 si 60']);
    if (!/^\d{1,13}$/.test(cif)) return etErrors(now, [`CIF introdus= ${cif} nu este un numar`]);
    if (!this.hasRight(cif)) return etErrors(now, ['Nu exista niciun CIF petru care sa aveti drept in SPV']);
    const recs = [...this.uploads.values()].filter((u) => u.cif === cif && u.doneAtMs <= now && u.doneAtMs >= now - zile * DAY_MS);
    if (recs.length === 0) return etErrors(now, [`Nu exista mesaje in ultimele ${zile} zile`]);
    return jsonReply({
      mesaje: recs.map((u) => ({
        tip: 'NOT',
        stare: u.ok ? 'OK' : 'ERR',
        uit: u.uit,
        cod_decl: cif,
        id_incarcare: u.index,
        data_creare: anafStamp(u.doneAtMs),
        sursa: 'A',
        ...(u.ok ? {} : { mesaje: u.errors.map((mesaj) => ({ tip: 'ERR', mesaj })) }),
      })),
      serial: '1234AA456',
      cui: cif,
      titlu: `Lista Mesaje disponibile din ultimele ${zile} zile`,
    });
  }

  missing(nowMs: number): ApiReply {
    return springError(404, 'Not Found', 'No message available', nowMs);
  }
}
