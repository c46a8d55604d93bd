// Adds up vitest JSON reports into one closing line: "tests: N passed, N failed".
import fs from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
const files = process.argv.slice(2).filter((f) => fs.existsSync(f));
for (const f of files) {
  const r = JSON.parse(fs.readFileSync(f, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // A file that failed without a failing test (it did not load, or a hook threw) counts once.
  failed += (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
if (files.length === 0 || passed === 0) failed += 1;
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
