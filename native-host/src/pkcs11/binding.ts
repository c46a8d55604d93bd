/**
 * The one place that picks the PKCS#11 binding: pkcs11js (a node-gyp addon) when it loads,
 * otherwise the koffi one (prebuilt for Windows and macOS, which we cannot compile pkcs11js for
 * from Linux). ANAF_TOKEN_PKCS11_BINDING=koffi|pkcs11js forces one (tests, and a way out if an
 * installed driver misbehaves with one of them). Both have the same shape (cryptoki.ts), so
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
  try {
    return loadPkcs11js();
  } catch {
    return koffiBinding;
  }
}

const binding = chooseBinding();

export const bindingName: BindingName = binding.name;
export const PKCS11 = binding.PKCS11;
export type PKCS11 = import('./cryptoki.js').PKCS11;
export const Pkcs11Error = binding.Pkcs11Error;
