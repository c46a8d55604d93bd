/**
 * The Scheduled Task (Windows), started at the user's logon. It is registered from XML rather
 * than with "/SC ONLOGON /TR …" flags because only XML can lift the default 72-hour run limit
 * (which would stop serve after three days) and ask for a restart on failure. The task runs a
 * small VBScript so that node has no console window, and waits for it so failures are seen.
 */
import { WINDOWS_TASK, assertPrintable, serveArgs, type ServiceSpec } from './spec.js';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** A VBScript string literal: quotes are doubled. */
const vbs = (s: string) => `"${s.replace(/"/g, '""')}"`;
/** A command-line argument as Windows programs parse it (paths here never end in a backslash before a quote). */
const winArg = (s: string) => (/^[A-Za-z0-9_./:\\-]+$/.test(s) ? s : `"${s.replace(/"/g, '\\"')}"`);

export function windowsLauncherVbs(spec: ServiceSpec): string {
  assertPrintable(spec);
  const commandLine = [spec.nodePath, ...serveArgs(spec)].map(winArg).join(' ');
  return [
    "' anaf-token serve, started by the scheduled task without a console window.",
    'Set sh = CreateObject("WScript.Shell")',
    `sh.Environment("PROCESS")("ANAF_TOKEN_HOME") = ${vbs(spec.dataDir)}`,
    `WScript.Quit sh.Run(${vbs(commandLine)}, 0, True)`,
    '',
  ].join('\r\n');
}

/** `user` is DOMAIN\name of the user the task runs for (the one installing it). */
export function windowsTaskXml(launcherVbs: string, user: string): string {
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
      <Command>wscript.exe</Command>
      <Arguments>//B //Nologo ${xml(winArg(launcherVbs))}</Arguments>
    </Exec>
  </Actions>
</Task>
`;
}

/** schtasks reads task XML as UTF-16 (the declaration says so). */
export function utf16WithBom(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

export const schtasks = {
  create: (xmlFile: string) => ['/Create', '/TN', WINDOWS_TASK, '/XML', xmlFile, '/F'],
  run: () => ['/Run', '/TN', WINDOWS_TASK],
  end: () => ['/End', '/TN', WINDOWS_TASK],
  delete: () => ['/Delete', '/TN', WINDOWS_TASK, '/F'],
  query: () => ['/Query', '/TN', WINDOWS_TASK, '/FO', 'LIST'],
};
