/**
 * What a closed Chromium profile still holds of some secrets (the OAuth code, the state): every
 * file of the user data dir read as bytes (UTF-8 and UTF-16 text), and the History database
 * opened with SQLite, table by table (a copy, with its journal or WAL, so the browser's file
 * stays untouched). Reports where, never the secret itself.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../../native-host/src/vault/sqlite.js';

export interface Secret {
  /** Named in the report instead of the value ("code", "state"). */
  label: string;
  value: string;
}

export interface Trace {
  label: string;
  /** Path inside the user data dir, or "History:<table>" for a row of the History database. */
  where: string;
}

function* walk(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

function probes(value: string): Buffer[] {
  const out = [Buffer.from(value, 'utf8'), Buffer.from(value, 'utf16le')];
  const encoded = encodeURIComponent(value);
  if (encoded !== value) out.push(Buffer.from(encoded, 'utf8'));
  return out;
}

/** Every file whose bytes contain a secret. */
export function scanFiles(root: string, secrets: Secret[]): Trace[] {
  const traces: Trace[] = [];
  for (const file of walk(root)) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      continue; // a socket or a file gone meanwhile
    }
    for (const s of secrets) {
      if (probes(s.value).some((p) => bytes.includes(p))) traces.push({ label: s.label, where: path.relative(root, file) });
    }
  }
  return traces;
}

/** A BLOB as text both ways Chromium may have stored a string in it. */
const blobText = (b: Buffer) => b.toString('latin1') + b.toString('utf16le');

/** Rows of the History database (urls, visits and every other table) that contain a secret. */
export function scanHistory(profileDir: string, secrets: Secret[]): Trace[] {
  const src = path.join(profileDir, 'History');
  if (!fs.existsSync(src)) return [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-e2e-history-'));
  try {
    for (const suffix of ['', '-journal', '-wal']) {
      if (fs.existsSync(src + suffix)) fs.copyFileSync(src + suffix, path.join(tmp, 'History' + suffix));
    }
    const db = openDatabase(path.join(tmp, 'History'));
    try {
      const traces: Trace[] = [];
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      for (const { name } of tables) {
        let rows: unknown[];
        try {
          const st = db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`);
          st.setReadBigInts(true); // Chromium's times (µs since 1601) are past 2^53
          rows = st.all();
        } catch {
          continue; // a virtual table whose module this SQLite lacks
        }
        const text = rows
          .map((r) =>
            Object.values(r as Record<string, unknown>)
              .map((v) => (v instanceof Uint8Array ? blobText(Buffer.from(v)) : String(v)))
              .join('\u0000'),
          )
          .join('\n');
        for (const s of secrets) if (text.includes(s.value)) traces.push({ label: s.label, where: `History:${name}` });
      }
      return traces;
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** URLs in History's urls table (for the report when something is found). */
export function historyUrls(profileDir: string): string[] {
  const src = path.join(profileDir, 'History');
  if (!fs.existsSync(src)) return [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-e2e-history-'));
  try {
    for (const suffix of ['', '-journal', '-wal']) {
      if (fs.existsSync(src + suffix)) fs.copyFileSync(src + suffix, path.join(tmp, 'History' + suffix));
    }
    const db = openDatabase(path.join(tmp, 'History'));
    try {
      return (db.prepare('SELECT url FROM urls ORDER BY id').all() as { url: string }[]).map((r) => r.url);
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Everything a closed profile keeps of the secrets: files by their bytes, History by its rows. */
export function profileTraces(userDataDir: string, secrets: Secret[]): Trace[] {
  const wanted = secrets.filter((s) => s.value.length >= 8);
  return [...scanFiles(userDataDir, wanted), ...scanHistory(path.join(userDataDir, 'Default'), wanted)];
}
