/**
 * ANAF's XML answers (the upload and stareMesaj `header`, the errors file in a download) as a
 * plain element tree, by fast-xml-parser: well-formedness checked first, one root element,
 * namespaces dropped (ANAF's differ per answer and version), no DOCTYPE (ANAF never sends one,
 * and entity definitions are how XML bombs work). Values stay strings; zod checks them after.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AppError } from '#shared/errors.js';

export interface XmlElement {
  /** Local name, without namespace prefix. */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Text directly inside the element, trimmed. */
  text: string;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  htmlEntities: false,
  preserveOrder: true,
  trimValues: true,
});

const ATTRS = ':@';

/** fast-xml-parser leaves character references (&#x219; for ș) as they are. */
function decodeCharRefs(s: string): string {
  return s.replace(/&#(x[0-9a-fA-F]{1,6}|[0-9]{1,7});/g, (m, ref: string) => {
    const cp = ref.startsWith('x') ? parseInt(ref.slice(1), 16) : parseInt(ref, 10);
    return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
  });
}

type Node = Record<string, unknown>;

function toElement(node: Node): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ATTRS);
  if (name === undefined || name === '#text' || name.startsWith('?') || name.startsWith('#')) return undefined;
  const rawAttrs = (node[ATTRS] ?? {}) as Record<string, unknown>;
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawAttrs)) if (typeof v === 'string') attrs[k] = decodeCharRefs(v);
  const children: XmlElement[] = [];
  let text = '';
  const content = node[name];
  if (Array.isArray(content)) {
    for (const c of content as Node[]) {
      if (typeof c['#text'] === 'string' || typeof c['#text'] === 'number') text += String(c['#text']);
      else {
        const child = toElement(c);
        if (child) children.push(child);
      }
    }
  }
  return { name, attrs, children, text: decodeCharRefs(text).trim() };
}

export function decodeUtf8(body: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body).replace(/^\uFEFF/, '');
  } catch {
    throw new AppError('ANAF_API_BAD_ANSWER', `${what}: the answer is not UTF-8 text`);
  }
}

/** The single root element of an XML document, or ANAF_API_BAD_ANSWER. */
export function parseXml(body: Uint8Array | string, what: string): XmlElement {
  const text = typeof body === 'string' ? body : decodeUtf8(body, what);
  if (/<!DOCTYPE/i.test(text)) throw new AppError('ANAF_API_BAD_ANSWER', `${what}: the XML carries a DOCTYPE, which ANAF never sends`);
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new AppError('ANAF_API_BAD_ANSWER', `${what}: the XML is not well-formed (line ${valid.err.line}: ${valid.err.code})`);
  const roots = (parser.parse(text) as Node[]).map(toElement).filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) throw new AppError('ANAF_API_BAD_ANSWER', `${what}: the XML has ${roots.length} root elements, not one`);
  return roots[0]!;
}

/** Every `errorMessage` of the root's `Errors` / `Error` children, in order. */
export function errorMessages(root: XmlElement): string[] {
  return root.children
    .filter((c) => c.name === 'Errors' || c.name === 'Error')
    .map((c) => c.attrs.errorMessage ?? c.text)
    .filter((m) => m !== '');
}
