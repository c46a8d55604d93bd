/**
 * For each installed Chromium-family browser (or each `--user-data-dir`): the native host
 * manifest is there, is ours, names an executable launcher, and that launcher answers `hello`.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { NATIVE_HOST_NAME } from '#shared/protocol/constants.js';
import { BROWSERS, targetFor, targetForUserDataDir, type Target } from '../install/browsers.js';
import { HOST_VERSION } from '../version.js';
import type { Check, DoctorContext, Finding } from './check.js';
import { probeLauncher } from './launcher-probe.js';

const manifestSchema = z.object({
  name: z.literal(NATIVE_HOST_NAME),
  path: z.string().check(z.minLength(1)),
  type: z.literal('stdio'),
  allowed_origins: z.array(z.string().check(z.regex(/^chrome-extension:\/\/[a-p]{32}\/$/))).check(z.minLength(1)),
});

const CHECK = 'native-host';

function installAdvice(browser: string, dir?: string) {
  const cmd = dir ? `anaf-token install --user-data-dir "${dir}"` : `anaf-token install --browser ${browser}`;
  return { ro: `Rulați: ${cmd}`, en: `Run: ${cmd}` };
}

/** Where the manifest of a Windows registry target is: the key's default value. */
function registryManifest(ctx: DoctorContext, key: string): string | undefined {
  const r = ctx.run('reg', ['query', `${key}\\${NATIVE_HOST_NAME}`, '/ve']);
  if (r.code !== 0) return undefined;
  return /REG_SZ\s+(.+)$/m.exec(r.stdout)?.[1]?.trim();
}

async function checkManifest(ctx: DoctorContext, subject: string, manifestFile: string, advice: Finding['advice']): Promise<Finding> {
  const base = { check: CHECK, subject };
  let manifest: z.infer<typeof manifestSchema>;
  try {
    manifest = manifestSchema.parse(JSON.parse(fs.readFileSync(manifestFile, 'utf8')));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return { ...base, status: 'fail', message: missing ? `no host manifest at ${manifestFile}` : `the host manifest ${manifestFile} is not valid`, advice };
  }
  // On Windows Chrome also takes a path relative to the manifest's folder (the MSI's manifest names anaf-token.exe beside it).
  const launcher = ctx.platform === 'win32' && !path.isAbsolute(manifest.path) ? path.join(path.dirname(manifestFile), manifest.path) : manifest.path;
  if (!path.isAbsolute(launcher) || !fs.existsSync(launcher)) {
    return { ...base, status: 'fail', message: `the manifest names a launcher that does not exist: ${launcher}`, advice };
  }
  if (ctx.platform !== 'win32') {
    try {
      fs.accessSync(launcher, fs.constants.X_OK);
    } catch {
      return { ...base, status: 'fail', message: `the launcher is not executable: ${launcher}`, advice };
    }
  }
  const probe = await probeLauncher(launcher, manifest.allowed_origins[0]!, ctx.timeoutMs, ctx.platform);
  if (!probe.ok) return { ...base, status: 'fail', message: `the launcher ${launcher} does not work: ${probe.reason}`, advice };
  if (probe.hostVersion !== HOST_VERSION) {
    return {
      ...base,
      status: 'warn',
      message: `the launcher runs host version ${probe.hostVersion}, this is ${HOST_VERSION}`,
      advice: { ro: `Reinstalați gazda cu această versiune. ${advice?.ro ?? ''}`, en: `Register this version again. ${advice?.en ?? ''}` },
    };
  }
  return { ...base, status: 'ok', message: `${manifestFile} → ${launcher} answers (host ${probe.hostVersion})` };
}

async function checkTarget(ctx: DoctorContext, t: Target, explicit: boolean): Promise<Finding | undefined> {
  if (t.kind === 'registry') {
    // The registry does not say which browsers are installed: only registered ones are checked.
    const manifest = registryManifest(ctx, t.key);
    return manifest ? checkManifest(ctx, t.browser, manifest, installAdvice(t.browser)) : undefined;
  }
  // A browser that was never started for this user has no folder: nothing to check.
  if (!explicit && !fs.existsSync(path.dirname(t.dir))) return undefined;
  const udd = explicit ? path.dirname(t.dir) : undefined;
  return checkManifest(ctx, udd ?? t.browser, path.join(t.dir, `${NATIVE_HOST_NAME}.json`), installAdvice(t.browser, udd));
}

export const nativeHostCheck: Check = {
  id: CHECK,
  async run(ctx) {
    const explicit = ctx.userDataDirs.length > 0;
    const targets = explicit ? ctx.userDataDirs.map(targetForUserDataDir) : BROWSERS.map((b) => targetFor(b, ctx.platform, ctx.home));
    const findings: Finding[] = [];
    for (const t of targets) {
      const f = await checkTarget(ctx, t, explicit);
      if (f) findings.push(f);
    }
    if (!findings.length) {
      findings.push({
        check: CHECK,
        status: 'warn',
        message: 'no Chrome, Chromium, Edge or Brave with the native host registered was found for this user',
        advice: {
          ro: 'Pentru extensie rulați "anaf-token install --browser <browser>" (pentru un browser pornit cu --user-data-dir, dați aceeași opțiune). Fără extensie, autorizați cu "anaf-token authorize".',
          en: 'For the extension, run "anaf-token install --browser <browser>" (for a browser started with --user-data-dir, pass the same option). Without the extension, authorize with "anaf-token authorize".',
        },
      });
    }
    return findings;
  },
};
