/** Both catalogues carry the same messages with the same placeholders, and the manifest's names exist. */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Entry {
  message: string;
  placeholders?: Record<string, { content: string }>;
}
const load = (lang: string) => JSON.parse(fs.readFileSync(`extension/_locales/${lang}/messages.json`, 'utf8')) as Record<string, Entry>;
const ro = load('ro');
const en = load('en');
const manifest = JSON.parse(fs.readFileSync('manifest.json', 'utf8')) as Record<string, unknown>;

describe('extension locales', () => {
  it('ro (default) and en have the same keys', () => {
    expect(Object.keys(ro).sort()).toEqual(Object.keys(en).sort());
    expect(manifest.default_locale).toBe('ro');
  });

  it('use the same placeholders, each defined, in both languages', () => {
    for (const [key, e] of Object.entries(en)) {
      const r = ro[key]!;
      const used = (m: string) => [...m.matchAll(/\$([A-Za-z0-9_]+)\$/g)].map((x) => x[1]!.toLowerCase()).sort();
      expect(used(r.message), key).toEqual(used(e.message));
      for (const name of used(e.message)) {
        expect(e.placeholders?.[name], `${key} en ${name}`).toBeDefined();
        expect(r.placeholders?.[name], `${key} ro ${name}`).toBeDefined();
      }
    }
  });

  it('define every __MSG_…__ the manifest uses, and name their language', () => {
    const names = [...JSON.stringify(manifest).matchAll(/__MSG_(\w+)__/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(2);
    for (const n of names) expect(ro[n] && en[n], n).toBeTruthy();
    expect(ro.lang?.message).toBe('ro');
    expect(en.lang?.message).toBe('en');
  });
});
