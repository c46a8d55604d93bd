// Adds up vitest JSON reports into one closing line: "tests: N passed, N failed".
// A run whose tests all passed but that vitest still marks unsuccessful (an unhandled error,
// say an EPIPE in a helper) is named too, so the line never reads green above a red exit.
import fs from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
const unsuccessful = [];
const files = process.argv.slice(2).filter((f) => fs.existsSync(f));
for (const f of files) {
  const r = JSON.parse(fs.readFileSync(f, 'utf8'));
  passed += r.numPassedTests;
  // A file that failed without a failing test (it did not load, or a hook threw) counts once.
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
  failed += r.numFailedTests + brokenFiles;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  if (r.success === false && r.numFailedTests + brokenFiles === 0) unsuccessful.push(f);
}
if (files.length === 0 || passed === 0) failed += 1;
const errors = unsuccessful.length ? `, ${unsuccessful.length} run(s) with unhandled errors (${unsuccessful.join(', ')})` : '';
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${errors}`);
process.exit(failed > 0 || unsuccessful.length > 0 ? 1 : 0);
