/** Fixed facts of the native messaging protocol, shared by the extension and the host. */
export const PROTOCOL_VERSION = 1;
export const NATIVE_HOST_NAME = 'ro.anaftoken.host';
/** Chrome refuses host→browser messages over 1 MB. (The cap the other way, MAX_FROM_BROWSER_BYTES, is computed in requests.ts.) */
export const MAX_TO_BROWSER_BYTES = 1024 * 1024;
