/** One PKCS#11 module's life: load, initialize, use, and always finalize and unload. */
import * as pkcs11js from './binding.js';
import type { AppError } from '#shared/errors.js';

export interface ModuleErrors {
  /** The library could not be loaded. */
  loadFailed(e: unknown): AppError;
  /** C_Initialize refused (a fresh process never sees CKR_CRYPTOKI_ALREADY_INITIALIZED). */
  initFailed(e: unknown): AppError;
}

/** Loads `path`, initializes it (with `libraryParameters` for modules such as NSS's softokn), runs `fn`, and always finalizes and unloads. */
export function withModule<T>(path: string, errors: ModuleErrors, fn: (p11: pkcs11js.PKCS11) => T, libraryParameters?: string): T {
  const p11 = new pkcs11js.PKCS11();
  try {
    p11.load(path);
  } catch (e) {
    throw errors.loadFailed(e);
  }
  try {
    if (libraryParameters === undefined) p11.C_Initialize();
    else p11.C_Initialize({ libraryParameters });
  } catch (e) {
    p11.close();
    throw errors.initFailed(e);
  }
  try {
    return fn(p11);
  } finally {
    try {
      p11.C_Finalize();
    } finally {
      p11.close();
    }
  }
}
