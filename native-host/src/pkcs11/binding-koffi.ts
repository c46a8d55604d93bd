/**
 * PKCS#11 over koffi (FFI), for the builds we cannot compile a node-gyp addon for (Windows and
 * macOS from our Linux build machine): koffi's npm tarball carries a prebuilt binary per platform.
 * It implements the subset of pkcs11js's PKCS11 class the project calls (cryptoki.ts), with the
 * same results: handles as native-order CK_ULONG Buffers, blank-padded UTF-8 fields as strings,
 * the same 32-bit truncation of flags and counts, and the same error (CKR name, code, method).
 *
 * Platform ABI, as cryptoki's own headers define it:
 * - CK_ULONG is C `unsigned long`: 64-bit on Linux and macOS (LP64), 32-bit on 64-bit Windows
 *   (LLP64). koffi's 'unsigned long' follows the platform, and so do our handle Buffers.
 * - On Windows every cryptoki struct is declared inside `#pragma pack(push, cryptoki, 1)`: no
 *   padding at all (CK_FUNCTION_LIST's pointers start at offset 2, CK_TOKEN_INFO is 160 bytes).
 *   Elsewhere structs have natural alignment. `ckStruct` picks koffi.pack or koffi.struct.
 * Calls go through the module's CK_FUNCTION_LIST from C_GetFunctionList, as every PKCS#11
 * consumer does: some modules export nothing else.
 */
import type * as Koffi from 'koffi';
import { loadKoffi } from '../platform/koffi.js';
import {
  CKA_END_DATE,
  CKA_START_DATE,
  ckrName,
  type AttributeResult,
  type Handle,
  type InitializationOptions,
  type Mechanism,
  type ModuleInfo,
  type PKCS11,
  type Pkcs11Binding,
  type SlotInfo,
  type Template,
  type TokenInfo,
  type Version,
} from './cryptoki.js';

type CType = Koffi.IKoffiCType;
type TypeSpec = Koffi.TypeSpec;

/** Windows packs every cryptoki struct to 1 byte; other platforms use natural alignment. */
export const PACKED_STRUCTS = process.platform === 'win32';
const ULONG = 'unsigned long';
const P = 'void *';

/** The function-list members we call, in the order of the 2.40 header's CK_FUNCTION_LIST. */
const FUNCTION_LIST_PREFIX = [
  'C_Initialize',
  'C_Finalize',
  'C_GetInfo',
  'C_GetFunctionList',
  'C_GetSlotList',
  'C_GetSlotInfo',
  'C_GetTokenInfo',
  'C_GetMechanismList',
  'C_GetMechanismInfo',
  'C_InitToken',
  'C_InitPIN',
  'C_SetPIN',
  'C_OpenSession',
  'C_CloseSession',
  'C_CloseAllSessions',
  'C_GetSessionInfo',
  'C_GetOperationState',
  'C_SetOperationState',
  'C_Login',
  'C_Logout',
  'C_CreateObject',
  'C_CopyObject',
  'C_DestroyObject',
  'C_GetObjectSize',
  'C_GetAttributeValue',
  'C_SetAttributeValue',
  'C_FindObjectsInit',
  'C_FindObjects',
  'C_FindObjectsFinal',
  'C_EncryptInit',
  'C_Encrypt',
  'C_EncryptUpdate',
  'C_EncryptFinal',
  'C_DecryptInit',
  'C_Decrypt',
  'C_DecryptUpdate',
  'C_DecryptFinal',
  'C_DigestInit',
  'C_Digest',
  'C_DigestUpdate',
  'C_DigestKey',
  'C_DigestFinal',
  'C_SignInit',
  'C_Sign',
] as const;

/** koffi and the cryptoki types, made on first use: a process that never loads a module through koffi never loads koffi. */
/**
 * The cryptoki structs we read or write, for a CK_ULONG type and a packing: the live ABI uses
 * 'unsigned long' and this platform's packing; the layout test also builds Windows' on Linux
 * ('uint32_t', packed) to check it against mingw-w64's compiler.
 */
export function makeTypes(koffi: typeof Koffi, ULONG: TypeSpec, packed: boolean) {
  const ckStruct = (def: Record<string, TypeSpec>): CType => (packed ? koffi.pack(def) : koffi.struct(def));
  const bytes = (n: number) => koffi.array('uint8_t', n, 'Typed');
  const CK_VERSION = ckStruct({ major: 'uint8_t', minor: 'uint8_t' });
  const types = {
    CK_VERSION,
    CK_INFO: ckStruct({
      cryptokiVersion: CK_VERSION,
      manufacturerID: bytes(32),
      flags: ULONG,
      libraryDescription: bytes(32),
      libraryVersion: CK_VERSION,
    }),
    CK_SLOT_INFO: ckStruct({
      slotDescription: bytes(64),
      manufacturerID: bytes(32),
      flags: ULONG,
      hardwareVersion: CK_VERSION,
      firmwareVersion: CK_VERSION,
    }),
    CK_TOKEN_INFO: ckStruct({
      label: bytes(32),
      manufacturerID: bytes(32),
      model: bytes(16),
      serialNumber: bytes(16),
      flags: ULONG,
      ulMaxSessionCount: ULONG,
      ulSessionCount: ULONG,
      ulMaxRwSessionCount: ULONG,
      ulRwSessionCount: ULONG,
      ulMaxPinLen: ULONG,
      ulMinPinLen: ULONG,
      ulTotalPublicMemory: ULONG,
      ulFreePublicMemory: ULONG,
      ulTotalPrivateMemory: ULONG,
      ulFreePrivateMemory: ULONG,
      hardwareVersion: CK_VERSION,
      firmwareVersion: CK_VERSION,
      utcTime: bytes(16),
    }),
    CK_ATTRIBUTE: ckStruct({ type: ULONG, pValue: P, ulValueLen: ULONG }),
    CK_MECHANISM: ckStruct({ mechanism: ULONG, pParameter: P, ulParameterLen: ULONG }),
    CK_C_INITIALIZE_ARGS: ckStruct({ CreateMutex: P, DestroyMutex: P, LockMutex: P, UnlockMutex: P, flags: ULONG, pReserved: P }),
    /** NSS's CK_C_INITIALIZE_ARGS with LibraryParameters (softokn reads its database path there). */
    CK_NSS_C_INITIALIZE_ARGS: ckStruct({
      CreateMutex: P,
      DestroyMutex: P,
      LockMutex: P,
      UnlockMutex: P,
      flags: ULONG,
      LibraryParameters: P,
      pReserved: P,
    }),
    /** CK_FUNCTION_LIST up to C_Sign: we read only these members, and a prefix has the whole struct's offsets. */
    CK_FUNCTION_LIST: ckStruct({ version: CK_VERSION, ...Object.fromEntries(FUNCTION_LIST_PREFIX.map((name) => [name, P])) }),
  };
  return types;
}

function makeAbi() {
  const koffi = loadKoffi();
  const ulongSize = koffi.sizeof(ULONG);
  const types = makeTypes(koffi, ULONG, PACKED_STRUCTS);
  // Pointers as 'void *' (Buffers or koffi memory), CK_BBOOL as uint8, CK_RV and every CK_ULONG as 'unsigned long'.
  const proto = (args: TypeSpec[]) => koffi.proto(ULONG, args);
  const protos = {
    C_Initialize: proto([P]),
    C_Finalize: proto([P]),
    C_GetInfo: proto([P]),
    C_GetSlotList: proto(['uint8_t', P, P]),
    C_GetSlotInfo: proto([ULONG, P]),
    C_GetTokenInfo: proto([ULONG, P]),
    C_OpenSession: proto([ULONG, ULONG, P, P, P]),
    C_CloseSession: proto([ULONG]),
    C_Login: proto([ULONG, ULONG, P, ULONG]),
    C_Logout: proto([ULONG]),
    C_GetAttributeValue: proto([ULONG, ULONG, P, ULONG]),
    C_FindObjectsInit: proto([ULONG, P, ULONG]),
    C_FindObjects: proto([ULONG, P, ULONG, P]),
    C_FindObjectsFinal: proto([ULONG]),
    C_SignInit: proto([ULONG, P, ULONG]),
    C_Sign: proto([ULONG, P, ULONG, P, P]),
  };
  return {
    koffi,
    types,
    protos,
    ulongSize,
    pointerSize: koffi.sizeof(P),
    /** CK_UNAVAILABLE_INFORMATION: ~0 as a CK_ULONG. */
    unavailable: (1n << BigInt(ulongSize * 8)) - 1n,
  };
}

let abiCache: ReturnType<typeof makeAbi> | undefined;
/** The koffi types of this platform's cryptoki ABI, exported for the layout test. */
export const abi = () => (abiCache ??= makeAbi());

type FunctionName = keyof ReturnType<typeof makeAbi>['protos'];
type CkFunction = (...args: unknown[]) => number | bigint;

/** Larger than any certificate, label or ID a token holds (a driver's claimed length beyond it is an error, not an allocation). */
const MAX_ATTRIBUTE_BYTES = 1 << 20;

/** A CK_RV other than CKR_OK, shaped as pkcs11js's Pkcs11Error. */
export class Pkcs11Error extends Error {
  override readonly name = 'Pkcs11Error';
  readonly nativeStack = '';
  constructor(
    readonly code: number,
    readonly method: string,
  ) {
    super(ckrName(code));
  }
}

type ULongValue = number | bigint;
const num = (v: ULongValue): number => (typeof v === 'bigint' ? Number(v) : v);
/** pkcs11js hands flags and counts to JS through napi_create_uint32: the low 32 bits. */
const u32 = (v: ULongValue): number => Number(BigInt.asUintN(32, BigInt(v)));
const isUnavailable = (v: ULongValue): boolean => BigInt(v) === abi().unavailable;

function toHandle(v: ULongValue): Handle {
  const b = Buffer.alloc(abi().ulongSize);
  abi().koffi.encode(b, ULONG, v);
  return b;
}
function fromHandle(h: Handle): ULongValue {
  if (!Buffer.isBuffer(h) || h.length !== abi().ulongSize) throw new TypeError(`a handle is a Buffer of ${abi().ulongSize} bytes`);
  return abi().koffi.decode(h, ULONG) as ULongValue;
}
const readULong = (b: Buffer): ULongValue => abi().koffi.decode(b, ULONG) as ULongValue;
/** The first n CK_ULONGs of a C array, each its own handle Buffer. */
function splitHandles(array: Buffer, n: number): Handle[] {
  const size = abi().ulongSize;
  return Array.from({ length: n }, (_, i) => Buffer.from(array.subarray(i * size, (i + 1) * size)));
}

/** A blank-padded fixed-length field, decoded whole as pkcs11js does (the caller trims). */
const text = (u8: Uint8Array): string => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('utf8');
const version = (v: { major: number; minor: number }): Version => ({ major: v.major, minor: v.minor });

/** Encodes a template value as pkcs11js does: numbers as CK_ULONG, booleans as CK_BBOOL, strings as UTF-8. */
function valueBytes(type: number, value: Template[number]['value']): Buffer | null {
  if (value === undefined || value === null) return null;
  if (type === CKA_START_DATE || type === CKA_END_DATE) throw new TypeError('date attributes are not supported by this binding');
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'number') return toHandle(value);
  if (typeof value === 'boolean') return Buffer.from([value ? 1 : 0]);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new TypeError('an attribute value is a number, boolean, string or Buffer');
}

/** Memory koffi allocates outside the JS heap, for pointers the module reads or writes during one call. */
class Scratch {
  private readonly blocks: unknown[] = [];
  alloc(size: number): unknown {
    const p: unknown = abi().koffi.alloc('uint8_t', Math.max(size, 1));
    this.blocks.push(p);
    return p;
  }
  copyIn(data: Buffer): unknown {
    const p = this.alloc(data.length);
    if (data.length) abi().koffi.encode(p, abi().koffi.array('uint8_t', data.length, 'Typed'), new Uint8Array(data));
    return p;
  }
  release(): void {
    for (const p of this.blocks.splice(0)) abi().koffi.free(p);
  }
}

class KoffiPKCS11 implements PKCS11 {
  libPath = '';
  private lib: Koffi.IKoffiLib | null = null;
  private fns: Partial<Record<FunctionName, CkFunction>> = {};

  load(file: string): void {
    const { koffi, types, protos, pointerSize } = abi();
    const lib = koffi.load(file);
    try {
      const getFunctionList = lib.func('C_GetFunctionList', ULONG, [P]);
      const out = Buffer.alloc(pointerSize);
      const rv = num(getFunctionList(out) as ULongValue);
      if (rv !== 0) throw new Pkcs11Error(rv, 'C_GetFunctionList');
      const listPtr: unknown = koffi.decode(out, P);
      if (!listPtr) throw new Error('C_GetFunctionList gave no function list');
      const list = koffi.decode(listPtr, types.CK_FUNCTION_LIST) as Record<string, unknown>;
      const fns: Partial<Record<FunctionName, CkFunction>> = {};
      for (const name of Object.keys(protos) as FunctionName[]) {
        // A module may leave functions it does not implement NULL: they fail when called.
        if (list[name]) fns[name] = koffi.decode(list[name], protos[name]) as CkFunction;
      }
      this.fns = fns;
      this.lib = lib;
      this.libPath = file;
    } catch (e) {
      lib.unload();
      throw e;
    }
  }

  close(): void {
    this.fns = {};
    this.lib?.unload();
    this.lib = null;
  }

  private call(name: FunctionName, ...args: unknown[]): void {
    const fn = this.fns[name];
    if (!fn) {
      if (!this.lib) throw new Error('PKCS#11 module is not loaded');
      throw new Pkcs11Error(0x54 /* CKR_FUNCTION_NOT_SUPPORTED */, name);
    }
    const rv = num(fn(...args));
    if (rv !== 0) throw new Pkcs11Error(rv, name);
  }

  C_Initialize(options?: InitializationOptions): void {
    const { koffi, types } = abi();
    // Like pkcs11js: always a CK_C_INITIALIZE_ARGS (zeroed without options), NSS's longer one with libraryParameters.
    const scratch = new Scratch();
    try {
      const flags = options?.flags ?? 0;
      let args: Buffer;
      if (options?.libraryParameters !== undefined) {
        if (typeof options.libraryParameters !== 'string') throw new TypeError("Property 'libraryParameters' should be a String");
        args = Buffer.alloc(koffi.sizeof(types.CK_NSS_C_INITIALIZE_ARGS));
        const params = scratch.copyIn(Buffer.from(`${options.libraryParameters}\0`, 'utf8'));
        koffi.encode(args, types.CK_NSS_C_INITIALIZE_ARGS, { flags, LibraryParameters: params });
      } else {
        args = Buffer.alloc(koffi.sizeof(types.CK_C_INITIALIZE_ARGS));
        koffi.encode(args, types.CK_C_INITIALIZE_ARGS, { flags });
      }
      this.call('C_Initialize', args);
    } finally {
      scratch.release();
    }
  }

  /** Calls `name` with `args` and then a buffer for one `struct`, which it fills; that struct, decoded. */
  private callInto<T>(name: FunctionName, struct: 'CK_INFO' | 'CK_SLOT_INFO' | 'CK_TOKEN_INFO', ...args: unknown[]): T {
    const { koffi, types } = abi();
    const out = Buffer.alloc(koffi.sizeof(types[struct]));
    this.call(name, ...args, out);
    return koffi.decode(out, types[struct]) as T;
  }

  C_Finalize(): void {
    this.call('C_Finalize', null);
  }

  C_GetInfo(): ModuleInfo {
    const i = this.callInto<{
      cryptokiVersion: Version;
      manufacturerID: Uint8Array;
      flags: ULongValue;
      libraryDescription: Uint8Array;
      libraryVersion: Version;
    }>('C_GetInfo', 'CK_INFO');
    return {
      cryptokiVersion: version(i.cryptokiVersion),
      manufacturerID: text(i.manufacturerID),
      flags: u32(i.flags),
      libraryDescription: text(i.libraryDescription),
      libraryVersion: version(i.libraryVersion),
    };
  }

  C_GetSlotList(tokenPresent = false): Handle[] {
    const count = Buffer.alloc(abi().ulongSize);
    this.call('C_GetSlotList', tokenPresent ? 1 : 0, null, count);
    // Like pkcs11js: a module may say 0 first and more later (Yubico's); 0 is an empty list.
    const n = num(readULong(count));
    if (n === 0) return [];
    const list = Buffer.alloc(n * abi().ulongSize);
    this.call('C_GetSlotList', tokenPresent ? 1 : 0, list, count);
    return splitHandles(list, Math.min(n, num(readULong(count))));
  }

  C_GetSlotInfo(slot: Handle): SlotInfo {
    const s = this.callInto<{
      slotDescription: Uint8Array;
      manufacturerID: Uint8Array;
      flags: ULongValue;
      hardwareVersion: Version;
      firmwareVersion: Version;
    }>('C_GetSlotInfo', 'CK_SLOT_INFO', fromHandle(slot));
    return {
      slotDescription: text(s.slotDescription),
      manufacturerID: text(s.manufacturerID),
      flags: u32(s.flags),
      hardwareVersion: version(s.hardwareVersion),
      firmwareVersion: version(s.firmwareVersion),
    };
  }

  C_GetTokenInfo(slot: Handle): TokenInfo {
    const t = this.callInto<
      Record<string, ULongValue> &
        Record<'label' | 'manufacturerID' | 'model' | 'serialNumber' | 'utcTime', Uint8Array> &
        Record<'hardwareVersion' | 'firmwareVersion', Version>
    >('C_GetTokenInfo', 'CK_TOKEN_INFO', fromHandle(slot));
    const utc = Buffer.from(t.utcTime);
    const nul = utc.indexOf(0);
    return {
      label: text(t.label),
      manufacturerID: text(t.manufacturerID),
      model: text(t.model),
      serialNumber: text(t.serialNumber),
      flags: u32(t.flags!),
      maxSessionCount: u32(t.ulMaxSessionCount!),
      sessionCount: u32(t.ulSessionCount!),
      maxRwSessionCount: u32(t.ulMaxRwSessionCount!),
      rwSessionCount: u32(t.ulRwSessionCount!),
      maxPinLen: u32(t.ulMaxPinLen!),
      minPinLen: u32(t.ulMinPinLen!),
      hardwareVersion: version(t.hardwareVersion),
      firmwareVersion: version(t.firmwareVersion),
      // pkcs11js copies utcTime with strncpy: up to the first NUL.
      utcTime: (nul < 0 ? utc : utc.subarray(0, nul)).toString('utf8'),
      totalPublicMemory: BigInt(t.ulTotalPublicMemory!),
      freePublicMemory: BigInt(t.ulFreePublicMemory!),
      totalPrivateMemory: BigInt(t.ulTotalPrivateMemory!),
      freePrivateMemory: BigInt(t.ulFreePrivateMemory!),
    };
  }

  C_OpenSession(slot: Handle, flags: number): Handle {
    const out = Buffer.alloc(abi().ulongSize);
    this.call('C_OpenSession', fromHandle(slot), flags, null, null, out);
    return out;
  }

  C_CloseSession(session: Handle): void {
    this.call('C_CloseSession', fromHandle(session));
  }

  C_Login(session: Handle, userType: number, pin?: string): void {
    // No PIN: NULL, for a token with its own PIN pad (CKF_PROTECTED_AUTHENTICATION_PATH).
    const bytes = pin === undefined ? null : Buffer.from(pin, 'utf8');
    try {
      this.call('C_Login', fromHandle(session), userType, bytes, bytes?.length ?? 0);
    } finally {
      bytes?.fill(0);
    }
  }

  C_Logout(session: Handle): void {
    this.call('C_Logout', fromHandle(session));
  }

  /** A CK_ATTRIBUTE array in one Buffer; pointers into koffi memory that the caller releases. */
  private template(entries: { type: number; data: Buffer | null; room?: number }[], scratch: Scratch): Buffer {
    const { koffi, types } = abi();
    const size = koffi.sizeof(types.CK_ATTRIBUTE);
    const out = Buffer.alloc(Math.max(entries.length, 1) * size);
    entries.forEach((e, i) => {
      const room = e.room ?? e.data?.length ?? 0;
      const pValue = e.data ? scratch.copyIn(e.data) : room > 0 ? scratch.alloc(room) : null;
      koffi.encode(out, i * size, types.CK_ATTRIBUTE, { type: e.type, pValue, ulValueLen: room });
    });
    return out;
  }

  C_FindObjectsInit(session: Handle, template: Template): void {
    const scratch = new Scratch();
    try {
      const attrs = this.template(
        template.map((a) => ({ type: a.type, data: valueBytes(a.type, a.value) })),
        scratch,
      );
      this.call('C_FindObjectsInit', fromHandle(session), template.length ? attrs : null, template.length);
    } finally {
      scratch.release();
    }
  }

  C_FindObjects(session: Handle, maxObjectCount: number): Handle[] {
    const found = Buffer.alloc(Math.max(maxObjectCount, 1) * abi().ulongSize);
    const count = Buffer.alloc(abi().ulongSize);
    this.call('C_FindObjects', fromHandle(session), found, maxObjectCount, count);
    return splitHandles(found, Math.min(maxObjectCount, num(readULong(count))));
  }

  C_FindObjectsFinal(session: Handle): void {
    this.call('C_FindObjectsFinal', fromHandle(session));
  }

  /** Two calls, as the spec and pkcs11js do: the lengths first, then the values into room of that size. */
  C_GetAttributeValue(session: Handle, object: Handle, template: Template): AttributeResult[] {
    const { koffi, types } = abi();
    const size = koffi.sizeof(types.CK_ATTRIBUTE);
    const lengthsOf = (attrs: Buffer) => template.map((_, i) => (koffi.decode(attrs, i * size, types.CK_ATTRIBUTE) as { ulValueLen: ULongValue }).ulValueLen);
    const scratch = new Scratch();
    try {
      const h = [fromHandle(session), fromHandle(object)] as const;
      const first = this.template(
        template.map((a) => ({ type: a.type, data: null })),
        scratch,
      );
      this.call('C_GetAttributeValue', ...h, first, template.length);
      const lengths = lengthsOf(first);
      // A driver's length is not trusted beyond what an attribute of a token can be.
      const rooms = lengths.map((l) => {
        if (isUnavailable(l)) return 0;
        if (num(l) > MAX_ATTRIBUTE_BYTES) throw new Pkcs11Error(0x30 /* CKR_DEVICE_ERROR */, 'C_GetAttributeValue');
        return num(l);
      });
      const second = this.template(
        template.map((a, i) => ({ type: a.type, data: null, room: rooms[i]! })),
        scratch,
      );
      this.call('C_GetAttributeValue', ...h, second, template.length);
      const results = template as AttributeResult[];
      lengthsOf(second).forEach((len, i) => {
        const entry = koffi.decode(second, i * size, types.CK_ATTRIBUTE) as { pValue: unknown };
        const n = num(len);
        // A driver that claims more than the room it was given would have us read past it.
        if (!isUnavailable(len) && n > rooms[i]!) throw new Pkcs11Error(0x150 /* CKR_BUFFER_TOO_SMALL */, 'C_GetAttributeValue');
        results[i]!.value = isUnavailable(len)
          ? undefined
          : n === 0 || !entry.pValue
            ? Buffer.alloc(0)
            : Buffer.from(new Uint8Array(koffi.view(entry.pValue, n)));
      });
      return results;
    } finally {
      scratch.release();
    }
  }

  C_SignInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    const { koffi, types } = abi();
    const scratch = new Scratch();
    try {
      const m = Buffer.alloc(koffi.sizeof(types.CK_MECHANISM));
      const param = mechanism.parameter;
      if (param !== undefined && !Buffer.isBuffer(param)) throw new TypeError('only Buffer mechanism parameters are supported');
      koffi.encode(m, types.CK_MECHANISM, {
        mechanism: mechanism.mechanism,
        pParameter: param?.length ? scratch.copyIn(param) : null,
        ulParameterLen: param?.length ?? 0,
      });
      this.call('C_SignInit', fromHandle(session), m, fromHandle(key));
    } finally {
      scratch.release();
    }
  }

  C_Sign(session: Handle, inData: Buffer, outData: Buffer): Buffer {
    const { koffi } = abi();
    const len = Buffer.alloc(abi().ulongSize);
    koffi.encode(len, ULONG, outData.length);
    this.call('C_Sign', fromHandle(session), inData, inData.length, outData, len);
    return outData.subarray(0, num(readULong(len)));
  }
}

export const koffiBinding: Pkcs11Binding = { name: 'koffi', PKCS11: KoffiPKCS11, Pkcs11Error };
