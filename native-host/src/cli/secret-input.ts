/** Secrets (the client secret, a PIN) come from standard input or a prompt that does not echo: never from argv. */
import { AppError, type ErrorCode } from '#shared/errors.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode?.(true);
  stdin.resume();
  let value = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (buf: Buffer) => {
        for (const ch of buf.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            return resolve(value);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            return reject(new AppError('BAD_REQUEST', 'cancelled'));
          }
          if (ch === '\u007f') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

export async function readSecret(prompt = 'Client secret (nu se afișează / not shown): ', missing: ErrorCode = 'SECRET_MISSING'): Promise<string> {
  const raw = process.stdin.isTTY ? await promptHidden(prompt) : ((await readAll(process.stdin)).split(/\r?\n/)[0] ?? '');
  const secret = raw.trim();
  if (!secret) throw new AppError(missing, 'nothing was entered');
  return secret;
}

/** Several secrets in order: one prompt each, or one line each of standard input. */
export async function readSecrets(prompts: readonly string[], missing: ErrorCode): Promise<string[]> {
  const values: string[] = [];
  if (process.stdin.isTTY) {
    for (const p of prompts) values.push((await promptHidden(p)).trim());
  } else {
    const lines = (await readAll(process.stdin)).split(/\r?\n/);
    for (let i = 0; i < prompts.length; i++) values.push((lines[i] ?? '').trim());
  }
  const empty = values.findIndex((v) => !v);
  if (empty >= 0) throw new AppError(missing, `nothing was entered for: ${prompts[empty]!.replace(/[:\s(].*$/s, '')}`);
  return values;
}
