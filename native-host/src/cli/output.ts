/** How the CLI prints: tables for people, `--json` for scripts, errors in Romanian and English. */
import { AppError, messagesFor } from '#shared/errors.js';
import type { TokenStatus } from '#shared/schemas/token-status.js';
import { redact } from '../log/logger.js';
import { explainAnafError, formatCauses } from '#shared/anaf-causes.js';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

const day = (iso: string | undefined) => (iso ? iso.slice(0, 10) : '-');
const left = (days: number | undefined, iso: string | undefined) => (days === undefined ? '-' : `${days >= 0 ? `${days}d` : 'expired'} (${day(iso)})`);
const holder = (s: TokenStatus) => {
  const subject = s.certificate?.subject;
  const name = subject ? (/CN=([^,]+)/i.exec(subject)?.[1]?.trim() ?? subject) : undefined;
  const label = s.certificate?.label;
  const who = name && label ? `${name} (${label})` : (name ?? label);
  // ANAF's token names only the serial and issuer; the holder's name comes from the USB key.
  const serial = s.certificate?.serialHex;
  const which = serial ? `serial ${serial}${s.certificate?.issuer ? `, ${s.certificate.issuer}` : ''}` : undefined;
  return who && which ? `${who}; ${which}` : (who ?? which ?? '-');
};

export function statusTable(statuses: TokenStatus[]): string {
  if (!statuses.length) return 'No profiles. Add one with "anaf-token profile add". / Niciun profil.\n';
  const rows = [['PROFILE', 'STATE', 'ACCESS TOKEN', 'REFRESH TOKEN', 'CERTIFICATE', 'LAST REFRESH']];
  for (const s of statuses) {
    rows.push([
      s.profile.name,
      s.state,
      left(s.accessDaysLeft, s.accessExpiresAt),
      left(s.refreshDaysLeft, s.refreshExpiresAt),
      holder(s),
      s.lastRefreshAt ? s.lastRefreshAt.slice(0, 16).replace('T', ' ') : '-',
    ]);
  }
  return table(rows);
}

/** Prints the error for the user and returns the exit code. */
export function reportError(e: unknown, json: boolean): number {
  const err = AppError.from(e, 'INTERNAL', (x) => redact(x.message).slice(0, 300));
  const payload = err.toPayload();
  const causes = explainAnafError(err.code, err.detail);
  if (json) {
    process.stdout.write(JSON.stringify(causes.length ? { error: payload, causes } : { error: payload }, null, 2) + '\n');
  } else {
    const { ro, en } = messagesFor(err.code);
    const detail = err.detail ? ` (${redact(err.detail)})` : '';
    process.stderr.write(`eroare [${err.code}]: ${ro}\nerror [${err.code}]: ${en}${detail}\n`);
    if (causes.length) process.stderr.write(formatCauses(causes));
  }
  return err.exitCode;
}
