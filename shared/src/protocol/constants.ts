/** Fixed facts of the native messaging protocol, shared by the extension and the host. */
export const PROTOCOL_VERSION = 1;
export const NATIVE_HOST_NAME = 'ro.anaftoken.host';
/** Chrome refuses host→browser messages over 1 MB, and never sends more than 64 MiB. */
export const MAX_TO_BROWSER_BYTES = 1024 * 1024;
export const MAX_FROM_BROWSER_BYTES = 64 * 1024 * 1024;
