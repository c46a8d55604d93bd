/** Every module asked for (or found), each inspected in its own worker; one module's failure is its own. */
import { AppError } from '#shared/errors.js';
import type { ModuleReport } from '#shared/schemas/pkcs11.js';
import { modulesToScan, nameForPath } from './known-modules.js';
import { inspectModuleIsolated } from './run-isolated.js';

export async function scanModules(explicit: string[] | undefined, configured: string[], limitMs?: number): Promise<ModuleReport[]> {
  const modules = explicit?.length ? explicit : modulesToScan(configured);
  if (!modules.length) throw new AppError('PKCS11_MODULE_NOT_FOUND');
  return Promise.all(
    modules.map(async (path): Promise<ModuleReport> => {
      const name = nameForPath(path);
      try {
        const report = await inspectModuleIsolated(path, limitMs);
        return name ? { ...report, name } : report;
      } catch (e) {
        const err = AppError.from(e, 'PKCS11_ERROR');
        return { path, ...(name ? { name } : {}), tokens: [], error: err.toPayload() };
      }
    }),
  );
}
