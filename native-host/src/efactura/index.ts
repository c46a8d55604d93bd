/** ANAF's e-Factura and e-Transport APIs on the wire: one function per endpoint, typed answers, typed errors. */
export { apiEndpoints, type ApiEndpoints, type ApiTarget } from './endpoints.js';
export { MAX_UPLOAD_BYTES, normalizeCif, type ApiCall, type PublicCall } from './call.js';
export { uploadOutcomeUnknown } from './answers.js';
export { withTokenRetry, type TokenSource } from './authorized.js';
export { uploadInvoice, UPLOAD_STANDARDS, type UploadInput, type UploadReceipt, type UploadStandard } from './upload.js';
export { messageState, type MessageState, type MessageStateName } from './status.js';
export { listMessages, listMessagesPage, type AnafMessage, type MessageFilter, type MessageList, type MessagePage, type PageQuery } from './messages.js';
export { downloadMessage, type DownloadedMessage } from './download.js';
export { DEFAULT_ARCHIVE_LIMITS, readArchive, unpackMessage, type ArchiveLimits, type UnpackedMessage } from './archive.js';
export { validateXml, xmlToPdf, type ValidationResult, type ValidationStandard } from './public.js';
export { etransportList, etransportState, etransportUpload, type TransportList, type TransportReceipt, type TransportState } from './etransport.js';
export type { WireOptions } from './wire.js';
