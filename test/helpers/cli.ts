/** Runs the built CLI as a separate process, as a user or an ERP would, and keeps everything it printed. */
import { spawn } from 'node:child_process';
import { CLI_ENTRY } from '../../native-host/src/config/entry.js';

export const CLI = CLI_ENTRY;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every output of every run, for the secret scan. */
export const transcript: string[] = [];

export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      // `token` prints the access token and `clients add` the new key on stdout, by contract;
      // everything else must never show a secret.
      const printsSecret = args[0] === 'token' || (args[0] === 'clients' && args[1] === 'add');
      transcript.push(printsSecret ? '' : stdout, stderr);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    // A command that needs no input may exit before we write it; its exit code and output
    // say how it went, so a closed pipe is not an error of the run.
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin.end(input ?? '');
  });
}
