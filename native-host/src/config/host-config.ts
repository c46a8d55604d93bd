/**
 * Host settings: which extensions may call the native host, the PKCS#11 drivers, and where the
 * store is (the team store's URL may carry its database password: the file is 0600 in a folder
 * only its user can change).
 */
import fs from 'node:fs';
import * as z from 'zod/mini';
import { EXTENSION_ID } from '#shared/extension-id.js';
import { packagedExtensionIds } from './entry.js';
import { ensurePrivateDir, ensureSafeDir, type Paths } from './paths.js';
import { writeFileAtomic } from './safe-paths.js';

export const extensionIdSchema = z.string().check(z.regex(/^[a-p]{32}$/, 'an extension ID is 32 letters a-p'));

/** Without a config file: this project's ID, and a packaged build's store IDs (config/entry.ts). */
export const defaultExtensionIds = (): string[] => [...new Set([EXTENSION_ID, ...packagedExtensionIds()])];

const configSchema = z.object({
  allowedExtensionIds: z._default(z.array(extensionIdSchema), defaultExtensionIds),
  /** PKCS#11 drivers the user named, scanned before the known ones. */
  pkcs11Modules: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(1024))), []),
  /** The team store's PostgreSQL URL (\`store use\`); absent: the local vault. */
  store: z.optional(z.string().check(z.regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'), z.maxLength(2048))),
});
export type HostConfig = z.infer<typeof configSchema>;

/** config.json names the drivers the native host may load: read only from a data folder nobody else can change. */
export function readConfig(paths: Paths): HostConfig {
  ensureSafeDir(paths.dataDir, { create: false });
  let raw: unknown = {};
  try {
    raw = JSON.parse(fs.readFileSync(paths.configFile, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${paths.configFile} is not valid JSON`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${paths.configFile}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

export function writeConfig(paths: Paths, config: HostConfig): void {
  ensurePrivateDir(paths.dataDir);
  writeFileAtomic(paths.configFile, JSON.stringify(config, null, 2) + '\n', 0o600);
}
