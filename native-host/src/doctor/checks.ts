/**
 * The checks `anaf-token doctor` runs, in order. To add one, write a `Check` (see check.ts)
 * in its own file and list it here; its findings appear in the report and the JSON output.
 */
import { anafCheck } from './anaf-check.js';
import { browserStoreCheck } from './browser-store-check.js';
import type { Check } from './check.js';
import { helloCheck } from './hello-check.js';
import { nativeHostCheck } from './native-host-check.js';
import { pkcs11Check } from './pkcs11-check.js';
import { profilesCheck } from './profiles-check.js';
import { servePortCheck } from './serve-port-check.js';
import { tokensCheck } from './tokens-check.js';
import { vaultCheck } from './vault-check.js';

export const DOCTOR_CHECKS: Check[] = [
  nativeHostCheck,
  vaultCheck,
  pkcs11Check,
  browserStoreCheck,
  profilesCheck,
  anafCheck,
  tokensCheck,
  helloCheck,
  servePortCheck,
];
