/**
 * What the boot file (run-bundle.ts) has to say before the host has a logger: a refused code
 * cache, for instance. The boot file and the host are two bundles, so the notes are kept under
 * a registered symbol on globalThis; the first logger with a file writes them.
 */
export interface BootNote {
  event: string;
  fields: Record<string, string>;
}

const KEY = Symbol.for('anaf-token.boot-notes');
type Holder = { [KEY]?: BootNote[] };

export function addBootNote(note: BootNote): void {
  ((globalThis as Holder)[KEY] ??= []).push(note);
}

export function takeBootNotes(): BootNote[] {
  const notes = (globalThis as Holder)[KEY] ?? [];
  (globalThis as Holder)[KEY] = [];
  return notes;
}
