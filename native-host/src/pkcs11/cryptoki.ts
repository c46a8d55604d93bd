/**
 * The part of the PKCS#11 (cryptoki 2.40) interface this project uses, shared by both bindings
 * (pkcs11js and the koffi one): the API shape, the constants and the error. The shape is the
 * subset of pkcs11js's own, so inventory.ts runs unchanged on either binding.
 */

/** A slot, session or object handle: the CK_ULONG in native byte order, as pkcs11js gives it. */
export type Handle = Buffer;

export interface Version {
  major: number;
  minor: number;
}
export interface ModuleInfo {
  cryptokiVersion: Version;
  manufacturerID: string;
  flags: number;
  libraryDescription: string;
  libraryVersion: Version;
}
export interface SlotInfo {
  slotDescription: string;
  manufacturerID: string;
  flags: number;
  hardwareVersion: Version;
  firmwareVersion: Version;
}
export interface TokenInfo {
  label: string;
  manufacturerID: string;
  model: string;
  serialNumber: string;
  flags: number;
  maxSessionCount: number;
  sessionCount: number;
  maxRwSessionCount: number;
  rwSessionCount: number;
  maxPinLen: number;
  minPinLen: number;
  hardwareVersion: Version;
  firmwareVersion: Version;
  utcTime: string;
  // pkcs11js gives the memory figures as BigInt (its typings say number).
  totalPublicMemory: bigint | number;
  freePublicMemory: bigint | number;
  totalPrivateMemory: bigint | number;
  freePrivateMemory: bigint | number;
}
export interface Attribute {
  type: number;
  value?: number | boolean | string | Buffer;
}
export type Template = Attribute[];
export interface AttributeResult {
  type: number;
  value?: Buffer;
}
export interface Mechanism {
  mechanism: number;
  parameter?: Buffer;
}
export interface InitializationOptions {
  /** NSS softokn's extension of CK_C_INITIALIZE_ARGS (configdir='…' certPrefix='' …). */
  libraryParameters?: string;
  flags?: number;
}

/** The methods of pkcs11js's PKCS11 class this project calls. */
export interface PKCS11 {
  load(path: string): void;
  close(): void;
  C_Initialize(options?: InitializationOptions): void;
  C_Finalize(): void;
  C_GetInfo(): ModuleInfo;
  C_GetSlotList(tokenPresent?: boolean): Handle[];
  C_GetSlotInfo(slot: Handle): SlotInfo;
  C_GetTokenInfo(slot: Handle): TokenInfo;
  C_OpenSession(slot: Handle, flags: number): Handle;
  C_CloseSession(session: Handle): void;
  C_Login(session: Handle, userType: number, pin?: string): void;
  C_Logout(session: Handle): void;
  C_FindObjectsInit(session: Handle, template: Template): void;
  C_FindObjects(session: Handle, maxObjectCount: number): Handle[];
  C_FindObjectsFinal(session: Handle): void;
  C_GetAttributeValue(session: Handle, object: Handle, template: Template): AttributeResult[];
  C_SignInit(session: Handle, mechanism: Mechanism, key: Handle): void;
  C_Sign(session: Handle, inData: Buffer, outData: Buffer): Buffer;
}

/** A PKCS#11 return value other than CKR_OK: `message` is its CKR_ name, `method` the C_ function. */
export interface Pkcs11ErrorLike extends Error {
  readonly code: number;
  readonly method: string;
}

export interface Pkcs11Binding {
  readonly name: 'pkcs11js' | 'koffi';
  readonly PKCS11: new () => PKCS11;
  readonly Pkcs11Error: abstract new (...args: never[]) => Pkcs11ErrorLike;
}

// Constants (PKCS#11 2.40), the same numbers pkcs11js exports; test/unit/pkcs11-binding.test.ts compares them.
export const CKF_TOKEN_PRESENT = 0x1;
export const CKF_RW_SESSION = 0x2;
export const CKF_SERIAL_SESSION = 0x4;
export const CKF_LOGIN_REQUIRED = 0x4;
export const CKF_TOKEN_INITIALIZED = 0x400;
export const CKF_USER_PIN_COUNT_LOW = 0x10000;
export const CKF_USER_PIN_FINAL_TRY = 0x20000;
export const CKF_USER_PIN_LOCKED = 0x40000;
export const CKF_OS_LOCKING_OK = 0x2;
export const CKU_SO = 0;
export const CKU_USER = 1;
export const CKO_CERTIFICATE = 1;
export const CKO_PRIVATE_KEY = 3;
export const CKA_CLASS = 0x0;
export const CKA_TOKEN = 0x1;
export const CKA_PRIVATE = 0x2;
export const CKA_LABEL = 0x3;
export const CKA_VALUE = 0x11;
export const CKA_ID = 0x102;
export const CKA_START_DATE = 0x110;
export const CKA_END_DATE = 0x111;
export const CKM_SHA256_RSA_PKCS = 0x40;
export const CKM_ECDSA = 0x1041;
export const CKR_OK = 0x0;
export const CKR_BUFFER_TOO_SMALL = 0x150;
export const CKR_DEVICE_ERROR = 0x30;
export const CKR_DEVICE_REMOVED = 0x32;
export const CKR_PIN_INCORRECT = 0xa0;
export const CKR_PIN_LOCKED = 0xa4;
export const CKR_SESSION_HANDLE_INVALID = 0xb3;
export const CKR_TOKEN_NOT_PRESENT = 0xe0;
export const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;

/** CKR names as pkcs11js's get_error_name() gives them; anything else is CKR_VENDOR_DEFINED there too. */
export const CKR_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0, 'CKR_OK'],
  [0x1, 'CKR_CANCEL'],
  [0x2, 'CKR_HOST_MEMORY'],
  [0x3, 'CKR_SLOT_ID_INVALID'],
  [0x5, 'CKR_GENERAL_ERROR'],
  [0x6, 'CKR_FUNCTION_FAILED'],
  [0x7, 'CKR_ARGUMENTS_BAD'],
  [0x8, 'CKR_NO_EVENT'],
  [0x9, 'CKR_NEED_TO_CREATE_THREADS'],
  [0xa, 'CKR_CANT_LOCK'],
  [0x10, 'CKR_ATTRIBUTE_READ_ONLY'],
  [0x11, 'CKR_ATTRIBUTE_SENSITIVE'],
  [0x12, 'CKR_ATTRIBUTE_TYPE_INVALID'],
  [0x13, 'CKR_ATTRIBUTE_VALUE_INVALID'],
  [0x20, 'CKR_DATA_INVALID'],
  [0x21, 'CKR_DATA_LEN_RANGE'],
  [0x30, 'CKR_DEVICE_ERROR'],
  [0x31, 'CKR_DEVICE_MEMORY'],
  [0x32, 'CKR_DEVICE_REMOVED'],
  [0x40, 'CKR_ENCRYPTED_DATA_INVALID'],
  [0x41, 'CKR_ENCRYPTED_DATA_LEN_RANGE'],
  [0x50, 'CKR_FUNCTION_CANCELED'],
  [0x51, 'CKR_FUNCTION_NOT_PARALLEL'],
  [0x54, 'CKR_FUNCTION_NOT_SUPPORTED'],
  [0x60, 'CKR_KEY_HANDLE_INVALID'],
  [0x62, 'CKR_KEY_SIZE_RANGE'],
  [0x63, 'CKR_KEY_TYPE_INCONSISTENT'],
  [0x64, 'CKR_KEY_NOT_NEEDED'],
  [0x65, 'CKR_KEY_CHANGED'],
  [0x66, 'CKR_KEY_NEEDED'],
  [0x67, 'CKR_KEY_INDIGESTIBLE'],
  [0x68, 'CKR_KEY_FUNCTION_NOT_PERMITTED'],
  [0x69, 'CKR_KEY_NOT_WRAPPABLE'],
  [0x6a, 'CKR_KEY_UNEXTRACTABLE'],
  [0x70, 'CKR_MECHANISM_INVALID'],
  [0x71, 'CKR_MECHANISM_PARAM_INVALID'],
  [0x82, 'CKR_OBJECT_HANDLE_INVALID'],
  [0x90, 'CKR_OPERATION_ACTIVE'],
  [0x91, 'CKR_OPERATION_NOT_INITIALIZED'],
  [0xa0, 'CKR_PIN_INCORRECT'],
  [0xa1, 'CKR_PIN_INVALID'],
  [0xa2, 'CKR_PIN_LEN_RANGE'],
  [0xa3, 'CKR_PIN_EXPIRED'],
  [0xa4, 'CKR_PIN_LOCKED'],
  [0xb0, 'CKR_SESSION_CLOSED'],
  [0xb1, 'CKR_SESSION_COUNT'],
  [0xb3, 'CKR_SESSION_HANDLE_INVALID'],
  [0xb4, 'CKR_SESSION_PARALLEL_NOT_SUPPORTED'],
  [0xb5, 'CKR_SESSION_READ_ONLY'],
  [0xb6, 'CKR_SESSION_EXISTS'],
  [0xb7, 'CKR_SESSION_READ_ONLY_EXISTS'],
  [0xb8, 'CKR_SESSION_READ_WRITE_SO_EXISTS'],
  [0xc0, 'CKR_SIGNATURE_INVALID'],
  [0xc1, 'CKR_SIGNATURE_LEN_RANGE'],
  [0xd0, 'CKR_TEMPLATE_INCOMPLETE'],
  [0xd1, 'CKR_TEMPLATE_INCONSISTENT'],
  [0xe0, 'CKR_TOKEN_NOT_PRESENT'],
  [0xe1, 'CKR_TOKEN_NOT_RECOGNIZED'],
  [0xe2, 'CKR_TOKEN_WRITE_PROTECTED'],
  [0xf0, 'CKR_UNWRAPPING_KEY_HANDLE_INVALID'],
  [0xf1, 'CKR_UNWRAPPING_KEY_SIZE_RANGE'],
  [0xf2, 'CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT'],
  [0x100, 'CKR_USER_ALREADY_LOGGED_IN'],
  [0x101, 'CKR_USER_NOT_LOGGED_IN'],
  [0x102, 'CKR_USER_PIN_NOT_INITIALIZED'],
  [0x103, 'CKR_USER_TYPE_INVALID'],
  [0x104, 'CKR_USER_ANOTHER_ALREADY_LOGGED_IN'],
  [0x105, 'CKR_USER_TOO_MANY_TYPES'],
  [0x110, 'CKR_WRAPPED_KEY_INVALID'],
  [0x112, 'CKR_WRAPPED_KEY_LEN_RANGE'],
  [0x113, 'CKR_WRAPPING_KEY_HANDLE_INVALID'],
  [0x114, 'CKR_WRAPPING_KEY_SIZE_RANGE'],
  [0x115, 'CKR_WRAPPING_KEY_TYPE_INCONSISTENT'],
  [0x120, 'CKR_RANDOM_SEED_NOT_SUPPORTED'],
  [0x121, 'CKR_RANDOM_NO_RNG'],
  [0x130, 'CKR_DOMAIN_PARAMS_INVALID'],
  [0x150, 'CKR_BUFFER_TOO_SMALL'],
  [0x160, 'CKR_SAVED_STATE_INVALID'],
  [0x170, 'CKR_INFORMATION_SENSITIVE'],
  [0x180, 'CKR_STATE_UNSAVEABLE'],
  [0x190, 'CKR_CRYPTOKI_NOT_INITIALIZED'],
  [0x191, 'CKR_CRYPTOKI_ALREADY_INITIALIZED'],
  [0x1a0, 'CKR_MUTEX_BAD'],
  [0x1a1, 'CKR_MUTEX_NOT_LOCKED'],
  [0x1b0, 'CKR_NEW_PIN_MODE'],
  [0x1b1, 'CKR_NEXT_OTP'],
  [0x1b5, 'CKR_EXCEEDED_MAX_ITERATIONS'],
  [0x1b6, 'CKR_FIPS_SELF_TEST_FAILED'],
  [0x1b7, 'CKR_LIBRARY_LOAD_FAILED'],
  [0x1b8, 'CKR_PIN_TOO_WEAK'],
  [0x1b9, 'CKR_PUBLIC_KEY_INVALID'],
  [0x200, 'CKR_FUNCTION_REJECTED'],
]);

export function ckrName(rv: number): string {
  return CKR_NAMES.get(rv) ?? 'CKR_VENDOR_DEFINED';
}
