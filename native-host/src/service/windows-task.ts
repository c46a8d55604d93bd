/**
 * The Scheduled Task (Windows), started at the user's logon. It is registered from XML rather
 * than with "/SC ONLOGON /TR …" flags because only XML can lift the default 72-hour run limit
 * (which would stop serve after three days) and ask for a restart on failure.
 *
 * The task runs anaf-token-launcher.exe (shipped beside anaf-token.exe; source in
 * scripts/package/launcher/), a GUI-subsystem program that sets ANAF_TOKEN_HOME, starts serve
 * with CREATE_NO_WINDOW, waits, and exits with serve's exit code, so the task sees a failure and
 * restarts it. It replaces a VBScript launcher run by wscript.exe: Windows is removing VBScript.
 * A scheduled task rather than an HKCU Run key: a Run entry starts once at logon and is never
 * restarted after a crash, nor can it be asked whether it runs (`schtasks /Query`).
 */
import { WINDOWS_TASK, assertPrintable, serveArgs, type ServiceSpec } from './spec.js';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * One command-line argument as CommandLineToArgvW and the C runtime split it back: quoted when
 * it holds a space, a tab or a quote (or is empty); inside quotes, a quote is escaped with a
 * backslash and backslashes before a quote (or the closing quote) are doubled.
 */
export function winArg(s: string): string {
  if (s !== '' && !/[\s"]/.test(s)) return s;
  return `"${s.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

/** The launcher's arguments: DATA-DIR PROGRAM ARGS… (what anaf-token-launcher.c expects). */
export function windowsTaskArguments(spec: ServiceSpec): string {
  assertPrintable(spec);
  return [spec.dataDir, spec.nodePath, ...serveArgs(spec)].map(winArg).join(' ');
}

/** `user` is DOMAIN\name of the user the task runs for (the one installing it); `launcher` the launcher's absolute path. */
export function windowsTaskXml(spec: ServiceSpec, launcher: string, user: string): string {
  const u = xml(user);
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>anaf-token: local ANAF token service for the ERP</Description>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>${u}</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>${u}</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
    <StartWhenAvailable>true</StartWhenAvailable>
    <Hidden>true</Hidden>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>${xml(launcher)}</Command>
      <Arguments>${xml(windowsTaskArguments(spec))}</Arguments>
    </Exec>
  </Actions>
</Task>
`;
}

/** schtasks reads task XML as UTF-16 (the declaration says so). */
export function utf16WithBom(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

/** The task file's text (UTF-16 with a BOM, as written), for reading the port back. */
export function fromUtf16WithBom(bytes: Buffer): string {
  return (bytes[0] === 0xff && bytes[1] === 0xfe ? bytes.subarray(2) : bytes).toString('utf16le');
}

export const schtasks = {
  create: (xmlFile: string) => ['/Create', '/TN', WINDOWS_TASK, '/XML', xmlFile, '/F'],
  run: () => ['/Run', '/TN', WINDOWS_TASK],
  end: () => ['/End', '/TN', WINDOWS_TASK],
  delete: () => ['/Delete', '/TN', WINDOWS_TASK, '/F'],
  query: () => ['/Query', '/TN', WINDOWS_TASK, '/FO', 'LIST'],
};
