/** Finds any issued secret in collected text; reports where, never the secret itself. */
export function scanForSecrets(texts: string[], secrets: string[]): string[] {
  const hits: string[] = [];
  const wanted = secrets.filter((s) => s.length >= 8);
  texts.forEach((t, i) => {
    for (const s of wanted) {
      // A JWT's signature part alone is unique enough to catch a partial leak too.
      const probes = s.split('.').length === 3 ? [s, s.split('.')[2]!] : [s];
      if (probes.some((p) => p.length >= 8 && t.includes(p))) hits.push(`text #${i} contains a secret of length ${s.length}`);
    }
  });
  return hits;
}
