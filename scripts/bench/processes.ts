/** Whole-process timing: a command from spawn to exit. */
import { spawn } from 'node:child_process';

export function timeProcess(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

/** Alternates the two commands so that machine noise falls on both alike. */
export async function sideBySide(a: () => Promise<number>, b: () => Promise<number>, runs: number): Promise<{ a: number[]; b: number[] }> {
  const out = { a: [] as number[], b: [] as number[] };
  await a();
  await b();
  // Which one runs first alternates: on this kind of machine the second of a pair was measured
  // up to 8 ms (7 %) apart from the first, in either direction.
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      out.a.push(await a());
      out.b.push(await b());
    } else {
      out.b.push(await b());
      out.a.push(await a());
    }
  }
  return out;
}
