// Builds anaf-token-launcher.exe (launcher/anaf-token-launcher.c) with Debian's mingw-w64:
// a GUI-subsystem program, statically linked (no runtime DLL a clean Windows lacks).
import path from 'node:path';
import { requireTool, run } from './run.mjs';

const CC = '/usr/bin/x86_64-w64-mingw32-gcc';

export function buildWindowsLauncher(output) {
  requireTool(CC, 'gcc-mingw-w64-x86-64');
  const source = path.join(path.dirname(new URL(import.meta.url).pathname), 'launcher', 'anaf-token-launcher.c');
  run(CC, ['-municode', '-mwindows', '-O2', '-s', '-static', '-Wall', '-Wextra', '-Werror', '-o', output, source, '-lshell32']);
  return output;
}
