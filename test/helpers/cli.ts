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

export interface RunningCli {
  /** The next whole line the CLI prints on stdout (rejects if it exits first, or after `timeoutMs`). */
  nextLine(timeoutMs?: number): Promise<string>;
  /** Everything printed so far on stderr. */
  stderr(): string;
  /** Settles when the process exits, with everything it printed. */
  done: Promise<CliResult>;
  kill(): void;
}

/** Starts the CLI and lets the test read its stdout line by line while it runs (e.g. `authorize --listen`). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, input = ''): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let consumed = 0;
  let exited = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    wake();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      exited = true;
      transcript.push(stdout, stderr);
      wake();
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  return {
    nextLine(timeoutMs = 15_000) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line on stdout within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        function check() {
          const nl = stdout.indexOf('\n', consumed);
          if (nl >= 0) {
            const line = stdout.slice(consumed, nl);
            consumed = nl + 1;
            waiters.delete(check);
            clearTimeout(timer);
            resolve(line);
          } else if (exited) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`the CLI exited before printing a line; stdout: ${stdout} stderr: ${stderr}`));
          }
        }
        waiters.add(check);
        check();
      });
    },
    stderr: () => stderr,
    done,
    kill: () => child.kill(),
  };
}
