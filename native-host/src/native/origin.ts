/**
 * Chrome starts the host with the caller's origin as the first argument
 * (`chrome-extension://<id>/`; on Windows a `--parent-window=N` may follow).
 * Only configured extension IDs may talk to the host.
 */
const ORIGIN_RE = /^chrome-extension:\/\/([a-p]{32})\/$/;

export function extensionIdFromOrigin(arg: string | undefined): string | undefined {
  return arg ? ORIGIN_RE.exec(arg)?.[1] : undefined;
}

export function isAllowedOrigin(arg: string | undefined, allowedIds: readonly string[]): boolean {
  const id = extensionIdFromOrigin(arg);
  return id !== undefined && allowedIds.includes(id);
}
