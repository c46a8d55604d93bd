/** What a login service runs: this build's `serve`, with the data folder of the user who installed it. */
import { hostCommand } from '../config/entry.js';

export const SYSTEMD_UNIT = 'anaf-token.service';
export const LAUNCHD_LABEL = 'ro.anaftoken.serve';
export const WINDOWS_TASK = 'anaf-token serve';

export interface ServiceSpec {
  /** Absolute path of node (a login session's PATH may not have it), or of the packaged executable. */
  nodePath: string;
  /** Absolute path of the CLI entry (dist/anaf-token.cjs); none when nodePath is the packaged executable. */
  cliPath?: string | undefined;
  /** Passed as ANAF_TOKEN_HOME so the service opens the same vault as the CLI that installed it. */
  dataDir: string;
  port: number;
}

/** This build's program (node, or the packaged executable) and CLI entry (none when packaged). */
export const defaultProgram = (): string => hostCommand().program;
export const defaultCliPath = (): string | undefined => hostCommand().args[0];

export function serveArgs(spec: ServiceSpec): string[] {
  return [...(spec.cliPath ? [spec.cliPath] : []), 'serve', '--port', String(spec.port)];
}

/** Control characters cannot be written safely into any of the three formats. */
export function assertPrintable(spec: ServiceSpec): void {
  for (const v of [spec.nodePath, spec.cliPath ?? '', spec.dataDir]) {
    if (/[\u0000-\u001f\u007f]/.test(v)) throw new Error(`a path contains a control character: ${JSON.stringify(v)}`);
  }
}
