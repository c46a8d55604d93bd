/** Integration tests run the built CLI, as users do: build the bundle once before any test file. */
import { execFileSync } from 'node:child_process';
import { wrongNode } from './helpers/node-runtime.js';

export default function setup(): void {
  // Every test would fail in its own way on another Node (node:sqlite, child processes): say why once.
  const wrong = wrongNode();
  if (wrong) throw new Error(wrong);
  execFileSync(process.execPath, ['scripts/build-host.mjs'], { stdio: 'inherit' });
}
