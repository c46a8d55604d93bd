/**
 * A virtual display for the headful run: `xvfb-run -a` picks a free display and handles the
 * X authority; its child prints both and waits, so the test can point Chromium and xdotool at it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface Display {
  env: { DISPLAY: string; XAUTHORITY: string };
  stop(): void;
}

export async function startDisplay(): Promise<Display> {
  const child: ChildProcess = spawn(
    'xvfb-run',
    ['-a', '-s', '-screen 0 1280x800x24 -nolisten tcp', 'sh', '-c', 'echo "$DISPLAY $XAUTHORITY"; exec sleep 3600'],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`xvfb-run did not start: ${err}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]!.trim());
      }
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`xvfb-run exited ${code}: ${err}`)));
  });
  const [display = '', xauthority = ''] = line.split(' ');
  return {
    env: { DISPLAY: display, XAUTHORITY: xauthority },
    stop() {
      // xvfb-run's group: the shell's sleep, xvfb-run and the Xvfb server it started.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    },
  };
}

export async function xdotool(display: Display, args: string[], timeoutMs = 20_000): Promise<string> {
  const { stdout } = await execFileP('xdotool', args, { env: { ...process.env, ...display.env }, timeout: timeoutMs });
  return stdout.trim();
}

const PIN_DIALOG = 'Unlock Security Device';

/**
 * Waits for a Chromium "unlock the token" dialog that is not one of `seen` (after a wrong PIN
 * Chromium opens a new one). Returns its window id.
 */
export async function waitForPinDialog(display: Display, seen: string[] = [], timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ids = await xdotool(display, ['search', '--onlyvisible', '--name', PIN_DIALOG]).catch(() => '');
    const fresh = ids.split('\n').find((id) => id && !seen.includes(id));
    if (fresh) return fresh;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no new "${PIN_DIALOG}" dialog within ${timeoutMs} ms`);
}

/** Types into the dialog as a user would (keyboard focus on it, then keys). */
export async function typePin(display: Display, windowId: string, pin: string): Promise<void> {
  await xdotool(display, ['windowfocus', '--sync', windowId]);
  await xdotool(display, ['type', '--delay', '50', pin]);
  await xdotool(display, ['key', 'Return']);
}

export async function cancelDialog(display: Display, windowId: string): Promise<void> {
  await xdotool(display, ['windowfocus', '--sync', windowId]);
  await xdotool(display, ['key', 'Escape']);
}

export async function answerPinDialog(display: Display, pin: string, timeoutMs = 20_000): Promise<void> {
  await typePin(display, await waitForPinDialog(display, [], timeoutMs), pin);
}
