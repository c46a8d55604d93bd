/**
 * The one place that picks the PKCS#11 binding: the koffi one, everywhere. It is the only one the
 * packaged builds can carry (pkcs11js is a node-gyp addon we cannot compile for Windows or macOS
 * from Linux, and a single executable cannot load it), so the tests exercise what users run.
 * ANAF_TOKEN_PKCS11_BINDING=pkcs11js picks pkcs11js instead in a source install: the parity tests
 * use it as an independent reading of the same token, and it is a way out if a driver misbehaves
 * with koffi. Both have the same shape (cryptoki.ts), so
 * inventory.ts uses `import * as pkcs11js from './binding.js'` as it used pkcs11js itself.
 */
import { createRequire } from 'node:module';
import { koffiBinding } from './binding-koffi.js';
import type { Pkcs11Binding } from './cryptoki.js';

export * from './cryptoki.js';

export type BindingName = Pkcs11Binding['name'];

function loadPkcs11js(): Pkcs11Binding {
  // CommonJS with a native addon: required, not imported, so a missing binary is a catchable error.
  const m = createRequire(import.meta.url)('pkcs11js') as Omit<Pkcs11Binding, 'name'>;
  return { name: 'pkcs11js', PKCS11: m.PKCS11, Pkcs11Error: m.Pkcs11Error };
}

export function chooseBinding(forced = process.env.ANAF_TOKEN_PKCS11_BINDING): Pkcs11Binding {
  if (forced === 'koffi') return koffiBinding;
  if (forced === 'pkcs11js') return loadPkcs11js();
  if (forced) throw new Error(`ANAF_TOKEN_PKCS11_BINDING must be koffi or pkcs11js, not ${forced.slice(0, 40)}`);
  return koffiBinding;
}

const binding = chooseBinding();

export const bindingName: BindingName = binding.name;
export const PKCS11 = binding.PKCS11;
export type PKCS11 = import('./cryptoki.js').PKCS11;
export const Pkcs11Error = binding.Pkcs11Error;
