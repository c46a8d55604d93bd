/** Where the e2e suite finds the builds and keeps its artifacts (screenshots, timings). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The test build of the extension (vite.config.ts with ANAF_EXT_TEST_ORIGINS). */
export const EXT_DIR = path.join(ROOT, 'dist', 'extension-e2e');
export { CLI_ENTRY as CLI_MAIN } from '../../../native-host/src/config/entry.js';
export const ARTIFACTS = path.join(ROOT, '.artifacts', 'e2e');
export const CHROMIUM = '/usr/bin/chromium';
/** Callback origin the test profiles use; Chromium maps it to a local counting listener. */
export const ERP_HOST = 'erp.example.ro';
export const REDIRECT_URI = `https://${ERP_HOST}/anaf/callback`;
/** Origins the test build lists in host_permissions: the callback host and the stand-in (to see its pages). */
export const TEST_ORIGINS = `https://${ERP_HOST}/* https://127.0.0.1/*`;
