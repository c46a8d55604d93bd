import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolvePaths, type Paths } from '../../native-host/src/config/paths.js';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `anaf-${prefix}-`));
}

export function tempPaths(prefix = 'home'): Paths {
  return resolvePaths(tempDir(prefix));
}
