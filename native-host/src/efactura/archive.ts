/**
 * The ZIP that descarcare answers with, unpacked in memory and only if it is what ANAF sends:
 * one document (the invoice, or the errors of a rejected one) and ANAF's signature over it,
 * under plain file names. fflate reads it; the central directory is checked first (names,
 * count, methods), then every entry is inflated as a stream whose real output is counted, so
 * sizes that lie in the headers cannot blow up memory (a "ZIP bomb"). Any doubt refuses the
 * whole archive: nothing is half-kept.
 */
import { Unzip, UnzipInflate, UnzipPassThrough, unzipSync } from 'fflate';
import { AppError } from '#shared/errors.js';
import { errorMessages, parseXml } from './xml.js';

export interface ArchiveLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxEntries: 8, maxEntryBytes: 16 * 1024 * 1024, maxTotalBytes: 48 * 1024 * 1024 };

/** A file name with no path in it: no separators, no "..", no drive, nothing invisible. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface ArchiveFile {
  name: string;
  data: Buffer;
}

const invalid = (why: string): AppError => new AppError('ANAF_API_ARCHIVE_INVALID', `descarcare: ${why}`);

function safeName(name: string): string {
  if (!SAFE_NAME.test(name) || name.includes('..')) throw invalid(`an entry has an unsafe name ("${name.replace(/[^\x20-\x7e]/g, '?').slice(0, 80)}")`);
  return name;
}

/** Every entry of the archive, checked and inflated within the limits. */
export function readArchive(zip: Uint8Array, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): ArchiveFile[] {
  if (zip.byteLength < 22 || zip[0] !== 0x50 || zip[1] !== 0x4b || zip[2] !== 0x03 || zip[3] !== 0x04) throw invalid('the answer is not a ZIP archive');
  // The central directory, read without inflating anything.
  const listed = new Map<string, number>();
  try {
    unzipSync(zip, {
      filter: (f) => {
        if (listed.size >= limits.maxEntries) throw invalid(`more than ${limits.maxEntries} entries`);
        const name = safeName(f.name);
        if (listed.has(name)) throw invalid(`the entry ${name} appears twice`);
        if (f.compression !== 0 && f.compression !== 8) throw invalid(`the entry ${name} uses compression method ${f.compression}`);
        listed.set(name, f.originalSize);
        return false;
      },
    });
  } catch (e) {
    throw e instanceof AppError ? e : invalid('its directory cannot be read');
  }
  if (listed.size === 0) throw invalid('the archive is empty');

  // The entries as they are stored, each inflated under a running count.
  const out = new Map<string, Buffer>();
  let total = 0;
  let failure: AppError | undefined;
  const unzip = new Unzip((file) => {
    if (failure) return;
    let name: string;
    try {
      name = safeName(file.name);
    } catch (e) {
      failure = e as AppError;
      return;
    }
    if (!listed.has(name) || out.has(name)) {
      failure = invalid(`the entry ${name} is not the one its directory lists`);
      return;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    file.ondata = (err, chunk, final) => {
      if (failure) return;
      if (err) {
        failure = invalid(`the entry ${name} is damaged`);
        return;
      }
      size += chunk.byteLength;
      total += chunk.byteLength;
      if (size > limits.maxEntryBytes || total > limits.maxTotalBytes) {
        failure = invalid(`the entry ${name} inflates past the size limit`);
        file.terminate();
        return;
      }
      chunks.push(chunk);
      if (final) out.set(name, Buffer.concat(chunks));
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  unzip.register(UnzipPassThrough);
  try {
    unzip.push(zip, true);
  } catch {
    failure ??= invalid('the archive is damaged');
  }
  if (failure) throw failure;
  for (const name of listed.keys()) if (!out.has(name)) throw invalid(`the entry ${name} could not be read`);
  return [...out].map(([name, data]) => ({ name, data }));
}

export interface UnpackedMessage {
  /** `invoice`: the document ANAF accepted (invoice, credit note, RASP message); `errors`: why it rejected it. */
  kind: 'invoice' | 'errors';
  document: ArchiveFile;
  signature: ArchiveFile;
  /** ANAF's error messages when kind is `errors`. */
  errors: string[];
}

/** The archive as ANAF's two files, each XML that parses; anything else is refused. */
export function unpackMessage(zip: Uint8Array, limits?: ArchiveLimits): UnpackedMessage {
  const files = readArchive(zip, limits);
  const xml = files.filter((f) => /\.xml$/i.test(f.name));
  if (xml.length !== files.length)
    throw invalid(
      `unexpected entries (${files
        .map((f) => f.name)
        .join(', ')
        .slice(0, 200)})`,
    );
  const signatures = xml.filter((f) => /^semnatura_/i.test(f.name));
  const documents = xml.filter((f) => !/^semnatura_/i.test(f.name));
  if (signatures.length !== 1 || documents.length !== 1) {
    throw invalid(`expected one document and one signature, found ${documents.length} and ${signatures.length}`);
  }
  const document = documents[0]!;
  const signature = signatures[0]!;
  let root;
  try {
    parseXml(signature.data, 'descarcare signature');
    root = parseXml(document.data, 'descarcare document');
  } catch (e) {
    throw invalid(`an entry is not well-formed XML (${e instanceof AppError ? e.detail : 'unreadable'})`);
  }
  // The errors file is ANAF's own `header` (mesajEroriFactuta) with one Error per problem.
  const errors = root.name === 'header' ? errorMessages(root) : [];
  const isErrors = root.name === 'header' && root.children.some((c) => c.name === 'Error' || c.name === 'Errors');
  return { kind: isErrors ? 'errors' : 'invoice', document, signature, errors };
}
