/** Runs an OS tool (systemctl, launchctl, schtasks) and keeps what it said; injectable for tests. */
import { spawnSync } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}
export type Runner = (command: string, args: string[]) => RunResult;

export const runCommand: Runner = (command, args) => {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000, windowsHide: true });
  if (r.error) return { code: -1, stdout: '', stderr: r.error.message };
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};
