/**
 * anaf-token-launcher.exe, which the scheduled task runs instead of a VBScript: it passes the
 * data folder as ANAF_TOKEN_HOME, runs the program with its arguments, waits, and returns its
 * exit code.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitWineIdle } from '../helpers/wine.js';
import { installed, regQuery, wine, wineEnv, winPath } from './wine.js';

const launcher = () => installed('anaf-token-launcher.exe');

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('anaf-token-launcher.exe (wine)', () => {
  // serve and the launchers killed here end asynchronously in wineserver: the next file starts on a quiet prefix.
  afterAll(() => waitWineIdle(wineEnv()));

  it('is a GUI-subsystem program (no console window of its own)', () => {
    const pe = fs.readFileSync(launcher());
    const header = pe.readUInt32LE(0x3c);
    // IMAGE_OPTIONAL_HEADER64.Subsystem: 2 = Windows GUI (3 would be a console program).
    expect(pe.readUInt16LE(header + 24 + 68)).toBe(2);
  });

  it('runs the program with the data folder set, waits, and returns its exit code', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf wine launcher '));
    // `install` writes config.json into ANAF_TOKEN_HOME: proof the launcher set it.
    const ok = wine(launcher(), [winPath(dir), winPath(installed('anaf-token.exe')), 'install', '--browser', 'edge', '--extension-id', 'c'.repeat(32)]);
    expect(ok.code).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { allowedExtensionIds: string[] };
    expect(config.allowedExtensionIds).toEqual(['c'.repeat(32)]);
    // Packaged, the registration names the executable itself: no .cmd launcher.
    const manifestPath = regQuery('HKCU\\Software\\Microsoft\\Edge\\NativeMessagingHosts\\ro.anaftoken.host');
    expect(manifestPath).toMatch(/ro\.anaftoken\.host\.edge\.json$/);
    expect(fs.readdirSync(path.join(dir, 'native-host')).filter((f) => f.endsWith('.cmd'))).toEqual([]);
    expect(wine(installed('anaf-token.exe'), ['uninstall', '--browser', 'edge'], { env: { ANAF_TOKEN_HOME: winPath(dir) } }).code).toBe(0);

    expect(wine(launcher(), [winPath(dir), winPath(installed('anaf-token.exe')), '--no-such-option']).code).toBe(2);
    expect(wine(launcher(), [winPath(dir)]).code).toBe(2);
  });

  it("starts serve hidden with the task's arguments, and stays until serve ends", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-serve-'));
    const port = 20000 + Math.floor(Math.random() * 20000);
    // What the scheduled task runs (windows-task.ts): DATA-DIR PROGRAM serve --port N.
    const child = spawn('wine', [launcher(), winPath(dir), winPath(installed('anaf-token.exe')), 'serve', '--port', String(port)], {
      env: wineEnv(),
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // ANAF_TOKEN_HOME reached serve: its vault and its log are in the data folder.
      const log = path.join(dir, 'logs', 'anaf-token.log');
      let started: string | undefined;
      for (let i = 0; i < 120 && !started; i++) {
        started = fs.existsSync(log)
          ? fs
              .readFileSync(log, 'utf8')
              .split('\n')
              .find((l) => l.includes('serve.start'))
          : undefined;
        if (!started) await new Promise((r) => setTimeout(r, 500));
      }
      expect(started).toBeDefined();
      expect(fs.existsSync(path.join(dir, 'vault.sqlite'))).toBe(true);
      // The packaged serve checks each peer's Windows user (GetExtendedTcpTable + the process
      // token, through koffi beside the executable)...
      expect(started).toMatch(/peerCheck="sid"/);
      // ...so this test's own connection, from a Linux process no Windows process owns, is
      // closed unanswered: fail closed (test/windows-peer shows a Windows client being served).
      // node:http, not fetch: fetch sends Sec-Fetch-Mode, which serve refuses as a web page's.
      await expect(get(`http://127.0.0.1:${port}/v1/profiles`)).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect(child.exitCode).toBeNull();
    } finally {
      // serve runs as its own wine process: end it by its command line (this test's port; not the
      // launcher's, whose command line holds the same words after its own path); the launcher follows.
      const pids = execFileSync('pgrep', ['-f', `^\\S*anaf-token\\.exe serve --port ${port}$`], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter(Boolean);
      expect(pids).toHaveLength(1);
      for (const pid of pids) process.kill(Number(pid));
    }
    // The launcher waited for serve, and ended on its own with serve's exit code.
    expect(typeof (await exited)).toBe('number');
  });

  it("ends serve when the launcher itself is ended (schtasks /End, uninstall): serve runs in the launcher's job", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-wine-job-'));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn('wine', [launcher(), winPath(dir), winPath(installed('anaf-token.exe')), 'serve', '--port', String(port)], {
      env: wineEnv(),
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const servePids = () => {
      try {
        return execFileSync('pgrep', ['-f', `^\\S*anaf-token\\.exe serve --port ${port}$`], { encoding: 'utf8' })
          .trim()
          .split('\n')
          .filter(Boolean);
      } catch {
        return [];
      }
    };
    try {
      const log = path.join(dir, 'logs', 'anaf-token.log');
      for (let i = 0; i < 120 && !(fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('serve.start')); i++)
        await new Promise((r) => setTimeout(r, 500));
      expect(servePids()).toHaveLength(1);
      // The launcher's own process, killed as Task Scheduler ends a task: no chance to clean up.
      const launcherPids = execFileSync('pgrep', ['-f', `anaf-token-launcher\\.exe .*serve --port ${port}$`], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter(Boolean);
      expect(launcherPids).toHaveLength(1);
      process.kill(Number(launcherPids[0]), 'SIGKILL');
      await exited;
      let left = servePids();
      for (let i = 0; i < 40 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 250));
        left = servePids();
      }
      expect(left).toEqual([]);
    } finally {
      for (const pid of servePids()) process.kill(Number(pid));
    }
  });
});
