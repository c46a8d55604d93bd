/**
 * `anaf-token service` as a user runs it on Linux where no user systemd answers (a container,
 * CI): the unit is written, nothing is started, the commands to run are printed, and status
 * tells whether a token service answers on the unit's port.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startServeProcess } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(process.platform !== 'linux')('anaf-token service (Linux, no user systemd)', () => {
  it('installs the unit, reports whether serve answers on its port, and uninstalls', async () => {
    const home = tempDir('svc-home');
    const env = {
      HOME: home,
      XDG_CONFIG_HOME: '',
      XDG_RUNTIME_DIR: path.join(home, 'run'),
      ANAF_TOKEN_HOME: path.join(home, 'data'),
      ANAF_TOKEN_KEYSTORE: 'file',
    };
    const port = await freePort();
    const unit = path.join(home, '.config', 'systemd', 'user', 'anaf-token.service');

    const inst = await runCli(['service', 'install', '--port', String(port)], env);
    expect(inst.code, inst.stderr).toBe(0);
    expect(inst.stdout).toContain('systemctl --user enable --now anaf-token.service');
    const text = fs.readFileSync(unit, 'utf8');
    expect(text).toContain(`serve --port ${port}`);
    expect(text).toContain(`Environment="ANAF_TOKEN_HOME=${env.ANAF_TOKEN_HOME}"`);

    const idle = JSON.parse((await runCli(['service', 'status', '--json'], env)).stdout) as Record<string, unknown>;
    expect(idle).toMatchObject({ kind: 'systemd', installed: true, port, answering: false });

    const serve = await startServeProcess(['--port', String(port), '--check-interval', '0'], env);
    try {
      const up = JSON.parse((await runCli(['service', 'status', '--json'], env)).stdout) as Record<string, unknown>;
      expect(up).toMatchObject({ installed: true, answering: true });
    } finally {
      await serve.stop();
    }

    expect((await runCli(['service', 'uninstall'], env)).code).toBe(0);
    expect(fs.existsSync(unit)).toBe(false);
    const gone = JSON.parse((await runCli(['service', 'status', '--json'], env)).stdout) as Record<string, unknown>;
    expect(gone).toMatchObject({ installed: false });
  });
});
