/**
 * e-Factura's XML `header` answers (upload, stareMesaj). ANAF has also been seen answering
 * these endpoints with its JSON `{eroare}`, so both are read; either kind of refusal becomes
 * its typed error.
 */
import * as z from 'zod/mini';
import { AppError } from '#shared/errors.js';
import { anafRefusal, jsonBody } from './answers.js';
import { eroareSchema, parseAnswer } from './schemas.js';
import type { WireAnswer } from './wire.js';
import { errorMessages, parseXml, type XmlElement } from './xml.js';

/** The `header` element, once any refusal in it (or in JSON) has been thrown. */
export function headerOf(a: WireAnswer, what: string): XmlElement {
  if (a.mediaType === 'application/json') {
    const e = z.safeParse(eroareSchema(), jsonBody(a, what));
    if (e.success) throw anafRefusal(what, [e.data.eroare]);
    throw new AppError('ANAF_API_BAD_ANSWER', `${what}: JSON where ANAF answers XML`);
  }
  const root = parseXml(a.body, what);
  if (root.name !== 'header') throw new AppError('ANAF_API_BAD_ANSWER', `${what}: the XML answer is <${root.name.slice(0, 40)}>, not <header>`);
  const errors = errorMessages(root);
  if (root.attrs.ExecutionStatus === '1' || errors.length > 0) {
    throw anafRefusal(what, errors.length > 0 ? errors : ['ExecutionStatus="1" without a message']);
  }
  return root;
}

export function headerAttrs<S extends z.ZodMiniType>(root: XmlElement, schema: S, what: string): z.infer<S> {
  return parseAnswer(schema, root.attrs, what);
}
