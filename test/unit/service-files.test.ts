/**
 * `service install|uninstall|status` on all three systems: the generated files (checked by
 * systemd-analyze where it exists) and the OS tool calls, with a recording runner in place of
 * systemctl / launchctl / schtasks.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launchdPlist } from '../../native-host/src/service/launchd-plist.js';
import { configuredPort, installService, portInFile, serviceStatus, uninstallService, type ServiceContext } from '../../native-host/src/service/manager.js';
import type { RunResult } from '../../native-host/src/service/runner.js';
import { LAUNCHD_LABEL, type ServiceSpec } from '../../native-host/src/service/spec.js';
import { systemdUnit } from '../../native-host/src/service/systemd-unit.js';
import { fromUtf16WithBom, schtasks, winArg, windowsTaskArguments, windowsTaskXml } from '../../native-host/src/service/windows-task.js';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const spec = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({
  nodePath: process.execPath,
  cliPath: CLI,
  dataDir: '/home/ion popescu/.local/share/anaf-token 100%',
  port: 8787,
  ...over,
});

function fakeContext(platform: NodeJS.Platform, opts: { systemd?: boolean; fail?: string } = {}) {
  const home = tempDir('svc');
  const runtime = path.join(home, 'run');
  if (opts.systemd) {
    fs.mkdirSync(path.join(runtime, 'systemd'), { recursive: true });
    fs.writeFileSync(path.join(runtime, 'systemd', 'private'), '');
  }
  const calls: string[][] = [];
  const ctx: ServiceContext = {
    platform,
    home,
    uid: 1000,
    env: { XDG_RUNTIME_DIR: runtime, USER: 'ion', USERDOMAIN: 'FIRMA', USERNAME: 'ion' },
    run: (cmd, args): RunResult => {
      calls.push([cmd, ...args]);
      return opts.fail && args.includes(opts.fail) ? { code: 1, stdout: '', stderr: 'refused' } : { code: 0, stdout: '', stderr: '' };
    },
  };
  return { ctx, calls, home };
}

describe('systemd user unit (Linux)', () => {
  it('runs this node and CLI with serve, restarts on failure, and keeps odd paths in one argument', () => {
    const unit = systemdUnit(spec({ nodePath: '/opt/node 20/bin/node', cliPath: '/srv/$app/main.js' }));
    expect(unit).toContain('ExecStart="/opt/node 20/bin/node" /srv/$$app/main.js serve --port 8787\n');
    expect(unit).toContain('Environment="ANAF_TOKEN_HOME=/home/ion popescu/.local/share/anaf-token 100%%"\n');
    expect(unit).toContain('Restart=on-failure\n');
    expect(unit).toContain('WantedBy=default.target\n');
    expect(() => systemdUnit(spec({ dataDir: '/x\ny' }))).toThrow(/control character/);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  const why = analyze.status === 0 ? '' : 'systemd-analyze is not installed here (Debian package "systemd")';
  it.skipIf(why !== '')(`passes systemd-analyze verify${why ? ` (skipped: ${why})` : ''}`, () => {
    const dir = tempDir('unit');
    const file = path.join(dir, 'anaf-token.service');
    fs.writeFileSync(file, systemdUnit(spec()));
    const runtime = tempDir('xdg-runtime');
    const r = spawnSync('systemd-analyze', ['--user', 'verify', file], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The check itself is sharp: a bad directive is reported.
    fs.writeFileSync(file, systemdUnit(spec()).replace('Restart=on-failure', 'Restart=sometimes'));
    const bad = spawnSync('systemd-analyze', ['--user', 'verify', file], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
    expect(bad.stderr).toContain('sometimes');
  });

  it('install writes the unit and, without a user systemd, calls nothing and says what to run', () => {
    const { ctx, calls, home } = fakeContext('linux');
    const r = installService(ctx, spec());
    expect(r.file).toBe(path.join(home, '.config', 'systemd', 'user', 'anaf-token.service'));
    expect(fs.readFileSync(r.file, 'utf8')).toBe(systemdUnit(spec()));
    expect(calls).toEqual([]);
    expect(r.todo).toEqual(['systemctl --user daemon-reload', 'systemctl --user enable --now anaf-token.service']);
    expect(r.notes.join('\n')).toContain('loginctl enable-linger ion');
  });

  it('install and uninstall drive a running user systemd', () => {
    const { ctx, calls } = fakeContext('linux', { systemd: true });
    const r = installService(ctx, spec());
    expect(calls).toEqual([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', 'anaf-token.service'],
    ]);
    expect(r.todo).toEqual([]);
    calls.length = 0;
    const u = uninstallService(ctx, spec().dataDir);
    expect(fs.existsSync(u.file)).toBe(false);
    expect(calls).toEqual([
      ['systemctl', '--user', 'disable', '--now', 'anaf-token.service'],
      ['systemctl', '--user', 'daemon-reload'],
    ]);
  });

  it('reports a failing systemctl as SERVICE_FAILED with its message', () => {
    const { ctx } = fakeContext('linux', { systemd: true, fail: 'enable' });
    expect(() => installService(ctx, spec())).toThrowError(expect.objectContaining({ code: 'SERVICE_FAILED', detail: expect.stringContaining('refused') }));
  });

  it('status reads the port from the unit and probes it', async () => {
    const { ctx } = fakeContext('linux');
    installService(ctx, spec({ port: 1 }));
    const s = await serviceStatus(ctx, spec().dataDir);
    expect(s).toMatchObject({ kind: 'systemd', installed: true, port: 1, answering: false });
  });
});

describe('launchd agent (macOS)', () => {
  it('is a plist with the label, the arguments, the data folder, and restart on failure', () => {
    const plist = launchdPlist(spec({ dataDir: '/Users/ion/Library/Application Support/anaf-token & co' }));
    expect(plist).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE plist/);
    expect(plist).toContain(`<string>${LAUNCHD_LABEL}</string>`);
    expect(plist).toContain(
      `<string>${process.execPath}</string>\n    <string>${CLI}</string>\n    <string>serve</string>\n    <string>--port</string>\n    <string>8787</string>`,
    );
    expect(plist).toContain('<string>/Users/ion/Library/Application Support/anaf-token &amp; co</string>');
    expect(plist).toMatch(/<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/);
    expect(plist).toMatch(/<key>RunAtLoad<\/key>\s*<true\/>/);
    // Balanced tags: every element opened is closed.
    const opened = (plist.match(/<(dict|array|plist)\b/g) ?? []).length;
    const closed = (plist.match(/<\/(dict|array|plist)>/g) ?? []).length;
    expect(opened).toBe(closed);
    expect(portInFile(plist)).toBe(8787);
  });

  it('install writes ~/Library/LaunchAgents/ro.anaftoken.serve.plist and bootstraps it in the GUI domain', () => {
    const { ctx, calls, home } = fakeContext('darwin');
    const r = installService(ctx, spec());
    expect(r.file).toBe(path.join(home, 'Library', 'LaunchAgents', 'ro.anaftoken.serve.plist'));
    expect(calls).toEqual([
      ['launchctl', 'bootout', 'gui/1000/ro.anaftoken.serve'],
      ['launchctl', 'bootstrap', 'gui/1000', r.file],
      // Who holds the port already (nobody, says the recording runner).
      ['lsof', '-nP', '-iTCP:8787', '-sTCP:LISTEN', '-F', 'pun'],
    ]);
    expect(r.listener).toEqual({ who: 'nobody', detail: 'nobody' });
    calls.length = 0;
    uninstallService(ctx, spec().dataDir);
    expect(calls).toEqual([['launchctl', 'bootout', 'gui/1000/ro.anaftoken.serve']]);
    expect(fs.existsSync(r.file)).toBe(false);
  });
});

describe('Scheduled Task (Windows)', () => {
  const win = spec({
    nodePath: 'C:\\Program Files\\nodejs\\node.exe',
    cliPath: 'C:\\anaf\\dist\\main.js',
    dataDir: 'C:\\Users\\Ion "Nelu"\\AppData\\Local\\anaf-token',
  });

  const launcher = 'C:\\Users\\ion\\AppData\\Local\\Programs\\anaf-token\\anaf-token-launcher.exe';

  it('runs the hidden launcher (no VBScript) at logon, with no run-time limit and restarts on failure', () => {
    const xml = windowsTaskXml(win, launcher, 'FIRMA\\ion');
    expect(xml).toContain('<LogonTrigger>\n      <Enabled>true</Enabled>\n      <UserId>FIRMA\\ion</UserId>');
    expect(xml).toContain('<ExecutionTimeLimit>PT0S</ExecutionTimeLimit>');
    expect(xml).toContain('<RestartOnFailure>');
    expect(xml).toContain(`<Command>${launcher}</Command>`);
    expect(xml).not.toMatch(/wscript|\.vbs/i);
    expect(windowsTaskXml(win, 'C:\\a b\\l.exe', 'A&B\\ion')).toContain('<Command>C:\\a b\\l.exe</Command>');
    expect(windowsTaskXml(win, launcher, 'A&B\\ion')).toContain('<UserId>A&amp;B\\ion</UserId>');
  });

  it('gives the launcher the data folder, then the program and serve, quoted as Windows splits them', () => {
    expect(windowsTaskArguments(win)).toBe(
      '"C:\\Users\\Ion \\"Nelu\\"\\AppData\\Local\\anaf-token" "C:\\Program Files\\nodejs\\node.exe" C:\\anaf\\dist\\main.js serve --port 8787',
    );
    // Packaged: the executable is the CLI, no entry script.
    const packaged = spec({ nodePath: 'C:\\Users\\ion\\AppData\\Local\\Programs\\anaf-token\\anaf-token.exe', cliPath: undefined, dataDir: 'C:\\d' });
    expect(windowsTaskArguments(packaged)).toBe('C:\\d C:\\Users\\ion\\AppData\\Local\\Programs\\anaf-token\\anaf-token.exe serve --port 8787');
    expect(windowsTaskXml(win, launcher, 'FIRMA\\ion')).toContain('<Arguments>&quot;C:\\Users\\Ion \\&quot;Nelu\\&quot;\\AppData');
    expect(portInFile(windowsTaskXml(win, launcher, 'FIRMA\\ion'))).toBe(8787);
  });

  it('quotes arguments so that CommandLineToArgvW gives them back', () => {
    expect(winArg('plain')).toBe('plain');
    expect(winArg('')).toBe('""');
    expect(winArg('a b')).toBe('"a b"');
    expect(winArg('C:\\dir with space\\')).toBe('"C:\\dir with space\\\\"');
    expect(winArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(winArg('a\\"b c')).toBe('"a\\\\\\"b c"');
    expect(winArg('C:\\no\\space\\')).toBe('C:\\no\\space\\');
  });

  it('install registers the task from UTF-16 XML with schtasks and starts it; uninstall ends and deletes it', () => {
    const { ctx, calls } = fakeContext('win32');
    const dataDir = path.join(tempDir('win'), 'anaf-token');
    const r = installService({ ...ctx, windowsLauncher: launcher }, { ...win, dataDir });
    expect(r.file).toBe(path.join(dataDir, 'service', 'anaf-token-serve.xml'));
    const bytes = fs.readFileSync(r.file);
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(fromUtf16WithBom(bytes)).toContain('<UserId>FIRMA\\ion</UserId>');
    expect(fromUtf16WithBom(bytes)).toContain(`<Command>${launcher}</Command>`);
    // Only the task file: no launcher script beside it.
    expect(fs.readdirSync(path.dirname(r.file))).toEqual(['anaf-token-serve.xml']);
    expect(configuredPort(ctx, dataDir)).toEqual({ port: 8787, from: 'service' });
    expect(calls).toEqual([
      ['schtasks', ...schtasks.create(r.file)],
      ['schtasks', '/Run', '/TN', 'anaf-token serve'],
      ['netstat', '-ano', '-p', 'TCP'],
      ['netstat', '-ano', '-p', 'TCPv6'],
    ]);
    expect(schtasks.create(r.file)).toEqual(['/Create', '/TN', 'anaf-token serve', '/XML', r.file, '/F']);
    calls.length = 0;
    uninstallService(ctx, dataDir);
    expect(calls).toEqual([
      ['schtasks', '/End', '/TN', 'anaf-token serve'],
      ['schtasks', '/Delete', '/TN', 'anaf-token serve', '/F'],
    ]);
    expect(fs.existsSync(path.dirname(r.file))).toBe(false);
  });
});
