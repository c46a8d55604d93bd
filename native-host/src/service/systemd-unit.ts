/** The systemd user unit (Linux): restarted on failure, started with the user's session (or at boot with linger). */
import { assertPrintable, serveArgs, type ServiceSpec } from './spec.js';

/** `%` starts a specifier everywhere, `$` a variable in ExecStart; quoting keeps spaces in one argument. */
function execArg(s: string): string {
  const escaped = s.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9/._:+,=@%$-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function envAssignment(name: string, value: string): string {
  return `"${`${name}=${value}`.replace(/%/g, '%%').replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function systemdUnit(spec: ServiceSpec): string {
  assertPrintable(spec);
  return [
    '[Unit]',
    'Description=anaf-token: local ANAF token service for the ERP',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${[spec.nodePath, ...serveArgs(spec)].map(execArg).join(' ')}`,
    `Environment=${envAssignment('ANAF_TOKEN_HOME', spec.dataDir)}`,
    'Restart=on-failure',
    'RestartSec=10',
    'NoNewPrivileges=true',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}
