export * from './errors.js';
export * from './schemas/error-payload.js';
export * from './schemas/profile.js';
export * from './schemas/token-status.js';
export * from './protocol/messages.js';
export * from './extension-id.js';
export * from './schemas/pkcs11.js';
export * from './certificate-warnings.js';
