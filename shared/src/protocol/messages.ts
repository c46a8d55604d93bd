/**
 * The native messaging protocol between the extension and the host: its constants, the
 * requests and the answers. Kept in three modules so that the host, which lives for a page's
 * visit or a single message, builds only the request schemas it parses.
 */
export * from './constants.js';
export * from './requests.js';
export * from './results.js';
