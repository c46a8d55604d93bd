/** The launchd agent (macOS): started at login, restarted when it exits with an error. */
import path from 'node:path';
import { LAUNCHD_LABEL, assertPrintable, serveArgs, type ServiceSpec } from './spec.js';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const str = (s: string) => `<string>${xml(s)}</string>`;

export function launchdPlist(spec: ServiceSpec): string {
  assertPrintable(spec);
  const args = [spec.nodePath, ...serveArgs(spec)].map((a) => `    ${str(a)}`).join('\n');
  // serve logs to the data folder itself; this file only catches what happens before that works.
  const errLog = path.join(spec.dataDir, 'logs', 'serve-stderr.log');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  ${str(LAUNCHD_LABEL)}
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>ANAF_TOKEN_HOME</key>
    ${str(spec.dataDir)}
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>10</integer>
  <key>ProcessType</key>
  ${str('Background')}
  <key>StandardErrorPath</key>
  ${str(errLog)}
</dict>
</plist>
`;
}
