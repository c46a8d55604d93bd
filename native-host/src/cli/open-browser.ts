/** Opens a URL in the default browser, where there is one; says whether it tried. Never throws. */
import { spawn } from 'node:child_process';
import { withUserUmask } from '../boot/umask.js';

export function openInBrowser(url: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  let command: string;
  let args: string[];
  if (platform === 'darwin') {
    command = 'open';
    args = [url];
  } else if (platform === 'win32') {
    // `start` is a cmd built-in; the quotes keep "&" in the URL from splitting the command,
    // and the empty "" is start's window title. /s: cmd strips only the outer quotes.
    if (url.includes('"')) return false;
    command = env.ComSpec ?? 'cmd.exe';
    args = ['/d', '/s', '/c', `"start "" "${url}""`];
  } else {
    // No graphical session (a server, SSH, a service): nothing to open.
    if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return false;
    command = 'xdg-open';
    args = [url];
  }
  try {
    // A browser started here lives on: its downloads and profile get the user's umask, not ours.
    const child = withUserUmask(() =>
      spawn(command, args, { stdio: 'ignore', detached: true, windowsHide: true, windowsVerbatimArguments: platform === 'win32' }),
    );
    child.on('error', () => undefined); // not installed: the URL is printed anyway
    child.unref();
    return true;
  } catch {
    return false;
  }
}
