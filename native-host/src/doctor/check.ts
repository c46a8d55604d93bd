/**
 * What a doctor check is: a function of the setup that returns one or more findings, each
 * ok / info / warn / fail with advice in Romanian and English. Checks never throw for a broken
 * setup: finding it is their job.
 */
import type { Bilingual } from '#shared/errors.js';

export type { Bilingual };
import type { Paths } from '../config/paths.js';
import type { Runner } from '../service/runner.js';
import type { StoreLocation } from '../store/open-store.js';
import type { Store } from '../store/store.js';

/**
 * `fail`: tokens do not work, or will not (the exit code says so). `warn`: something to fix
 * before it becomes a failure. `info`: a fact worth knowing that needs nothing now, such as the
 * USB key being unplugged (it is needed only to authorize again).
 */
export type CheckStatus = 'ok' | 'info' | 'warn' | 'fail';

export interface Finding {
  /** The check's id, e.g. "native-host". */
  check: string;
  /** What was checked, when a check looks at several things (a browser, a profile, a server). */
  subject?: string;
  status: CheckStatus;
  /** The facts, in English (paths, dates, codes). */
  message: string;
  /** What to do, when there is something to do. */
  advice?: Bilingual;
  /** Known causes, most likely first (see anaf-errors.ts). */
  causes?: Bilingual[];
}

export interface DoctorContext {
  paths: Paths;
  platform: NodeJS.Platform;
  home: string;
  env: NodeJS.ProcessEnv;
  /** Browser data folders to check instead of the installed browsers (`--user-data-dir`). */
  userDataDirs: string[];
  now: () => number;
  /** For each network or process probe. */
  timeoutMs: number;
  run: Runner;
  /** One more CA to trust (PEM), for a test server; NODE_EXTRA_CA_CERTS does the same for a whole process. */
  extraCa?: string;
  /** Where the store is: this user's vault, or a team store (store/open-store.ts). */
  location(): StoreLocation;
  /**
   * The store in use, opened at most once: undefined when there is no vault yet; rejects (with
   * the same error every time) when it does not open. Only the store check reports that error;
   * the others use `storeOrNothing`.
   */
  store(): Promise<Store | undefined>;
}

export interface Check {
  id: string;
  run(ctx: DoctorContext): Promise<Finding[]>;
}

export async function storeOrNothing(ctx: DoctorContext): Promise<Store | undefined> {
  try {
    return await ctx.store();
  } catch {
    return undefined;
  }
}
