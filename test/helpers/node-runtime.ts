/**
 * The suites run on the project's pinned Node (scripts/node-version.sh, installed by
 * scripts/setup-node.sh, put first on PATH by scripts/node-env.sh): the vault needs node:sqlite,
 * and the tests start processes with both process.execPath and `node` from PATH.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');

/** NODE_VERSION and NODE_MAJOR as scripts/node-version.sh pins them. */
export function pinnedNode(): { version: string; major: number } {
  const text = fs.readFileSync(path.join(root, 'scripts', 'node-version.sh'), 'utf8');
  const version = /^NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(text)?.[1];
  const major = /^NODE_MAJOR=(\d+)$/m.exec(text)?.[1];
  if (!version || !major) throw new Error('scripts/node-version.sh: NODE_VERSION or NODE_MAJOR missing');
  return { version, major: Number(major) };
}

/** Why this run is not on the pinned Node's major (this process, or `node` on PATH); undefined when it is. */
export function wrongNode(): string | undefined {
  const { version, major } = pinnedNode();
  const hint = `run the suites through scripts/test.sh, or: scripts/with-node.sh npx vitest run (Node ${version})`;
  const own = Number(process.versions.node.split('.')[0]);
  if (own !== major) return `the tests run on Node ${process.version} (${process.execPath}), not Node ${major}: ${hint}`;
  const onPath = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim();
  if (Number(onPath.slice(1).split('.')[0]) !== major) return `'node' on PATH is ${onPath}, not Node ${major}: ${hint}`;
  return undefined;
}
