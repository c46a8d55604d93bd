/** Runs the checks and sums them up; also renders the report for a terminal. */
import fs from 'node:fs';
import os from 'node:os';
import { AppError } from '#shared/errors.js';
import type { Paths } from '../config/paths.js';
import { runCommand } from '../service/runner.js';
import { openStore, openVault, storeLocation, type StoreLocation } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { Check, CheckStatus, DoctorContext, Finding } from './check.js';
import { formatCauses } from '#shared/anaf-causes.js';

export interface DoctorReport {
  ok: boolean;
  summary: Record<CheckStatus, number>;
  findings: Finding[];
}

export interface DoctorContextOptions {
  paths: Paths;
  userDataDirs?: string[];
  platform?: NodeJS.Platform;
  home?: string;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  timeoutMs?: number;
  extraCa?: string;
}

/** A context whose store is opened on first use and kept (with its error) for every check. */
export function doctorContext(o: DoctorContextOptions): DoctorContext & { close(): Promise<void> } {
  let opened: Promise<Store | undefined> | undefined;
  let where: StoreLocation | undefined;
  const env = o.env ?? process.env;
  const location = () => (where ??= storeLocation(o.paths, env));
  return {
    paths: o.paths,
    platform: o.platform ?? process.platform,
    home: o.home ?? os.homedir(),
    env,
    userDataDirs: o.userDataDirs ?? [],
    now: o.now ?? Date.now,
    timeoutMs: o.timeoutMs ?? 5_000,
    run: runCommand,
    ...(o.extraCa ? { extraCa: o.extraCa } : {}),
    location,
    store() {
      opened ??= (async () => {
        const w = location();
        if (w.engine !== 'sqlite') return openStore(w, { paths: o.paths, env });
        // Opening would create a missing vault: the doctor only looks.
        return fs.existsSync(o.paths.vaultFile) ? openVault({ paths: o.paths, env }) : undefined;
      })();
      return opened;
    },
    async close() {
      const s = await opened?.catch(() => undefined);
      await s?.close();
    },
  };
}

export async function runDoctor(ctx: DoctorContext, checks: readonly Check[]): Promise<DoctorReport> {
  const findings: Finding[] = [];
  for (const check of checks) {
    try {
      findings.push(...(await check.run(ctx)));
    } catch (e) {
      // A check that breaks is itself a finding; the others still run.
      const err = e instanceof AppError ? `${e.code}${e.detail ? ` (${e.detail})` : ''}` : e instanceof Error ? e.message : 'unknown';
      findings.push({ check: check.id, status: 'fail', message: `the check itself failed: ${err}` });
    }
  }
  const summary: Record<CheckStatus, number> = { ok: 0, info: 0, warn: 0, fail: 0 };
  for (const f of findings) summary[f.status]++;
  // Only a failure fails the run: warnings and information leave tokens working.
  return { ok: summary.fail === 0, summary, findings };
}

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', info: 'info', warn: 'WARN', fail: 'FAIL' };

export function renderReport(r: DoctorReport): string {
  const lines: string[] = [];
  for (const f of r.findings) {
    lines.push(`${MARK[f.status]}  ${f.check}${f.subject ? ` [${f.subject}]` : ''}: ${f.message}`);
    if (f.advice) lines.push(`      ro: ${f.advice.ro}`, `      en: ${f.advice.en}`);
    if (f.causes?.length)
      lines.push(
        ...formatCauses(f.causes)
          .trimEnd()
          .split('\n')
          .map((l) => `    ${l}`),
      );
  }
  lines.push('', `${r.summary.ok} ok, ${r.summary.info} info, ${r.summary.warn} warn, ${r.summary.fail} fail`);
  return lines.join('\n') + '\n';
}
