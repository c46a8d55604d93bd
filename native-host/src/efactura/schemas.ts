/** ANAF's answers, checked field by field before anything of them is used. */
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { lazy } from '#shared/schemas/lazy.js';

/** ANAF writes its ids sometimes as JSON strings, sometimes as numbers. */
export const idSchema = lazy(() =>
  z.pipe(
    z.union([z.string().check(z.regex(/^\d{1,20}$/)), z.int().check(z.nonnegative())]),
    z.transform((v: string | number) => String(v)),
  ),
);
const text = () => z.string().check(z.maxLength(4000));
const optionalId = () => z.optional(idSchema());

/** One message of listaMesajeFactura / listaMesajePaginatieFactura. */
export const messageSchema = lazy(() =>
  z.looseObject({
    data_creare: z.string().check(z.regex(/^\d{12,14}$/)),
    cif: idSchema(),
    id_solicitare: optionalId(),
    detalii: z.optional(text()),
    tip: text(),
    id: idSchema(),
    cif_emitent: optionalId(),
    cif_beneficiar: optionalId(),
  }),
);

const count = () => z.optional(z.int().check(z.nonnegative()));

export const messageListSchema = lazy(() =>
  z.looseObject({
    mesaje: z.optional(z.array(messageSchema()).check(z.maxLength(10_000))),
    eroare: z.optional(text()),
    titlu: z.optional(text()),
    serial: z.optional(text()),
    cui: z.optional(text()),
    numar_inregistrari_in_pagina: count(),
    numar_total_inregistrari_per_pagina: count(),
    numar_total_inregistrari: count(),
    numar_total_pagini: count(),
    index_pagina_curenta: count(),
  }),
);

/** `{eroare, titlu}`: e-Factura's JSON refusal (descarcare, lists). */
export const eroareSchema = lazy(() => z.looseObject({ eroare: text(), titlu: z.optional(text()) }));

/** validare, and transformare when it does not give a PDF. */
export const validationSchema = lazy(() =>
  z.looseObject({
    stare: z.string().check(z.maxLength(64)),
    trace_id: z.optional(text()),
    Messages: z.optional(z.array(z.looseObject({ message: text() })).check(z.maxLength(10_000))),
  }),
);

/** e-Transport's JSON answers: upload, stareMesaj and lista share this envelope. */
export const etransportSchema = lazy(() =>
  z.looseObject({
    ExecutionStatus: z.optional(z.union([z.literal(0), z.literal(1), z.literal('0'), z.literal('1')])),
    dateResponse: z.optional(text()),
    index_incarcare: optionalId(),
    UIT: z.optional(z.string().check(z.maxLength(64))),
    trace_id: z.optional(text()),
    ref_declarant: z.optional(text()),
    atentie: z.optional(text()),
    stare: z.optional(z.string().check(z.maxLength(64))),
    Errors: z.optional(z.array(z.looseObject({ errorMessage: text() })).check(z.maxLength(10_000))),
    error: z.optional(text()),
    mesaje: z.optional(z.array(z.looseObject({})).check(z.maxLength(100_000))),
  }),
);

/** Parses with a schema, or ANAF_API_BAD_ANSWER naming the first wrong field (never its value). */
export function parseAnswer<S extends z.ZodMiniType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = z.safeParse(schema, value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue ? issue.path.map(String).join('.') || '(root)' : '(root)';
    throw new AppError('ANAF_API_BAD_ANSWER', `${what}: unexpected answer at ${where}${issue ? ` (${issue.code})` : ''}`);
  }
  return r.data;
}
