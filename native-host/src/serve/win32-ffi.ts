/**
 * The few Windows calls that say who is at the other end of a loopback connection, through koffi
 * (no addon to build: koffi ships a prebuilt win32_x64 binary). The only module that imports
 * koffi for this: the answers leave it as plain values (bytes of a TCP table, a SID string, a
 * session id), parsed and judged elsewhere (win-tcp-table.ts, peer-windows.ts), so that the
 * logic is tested on Linux too and only this thin layer needs Windows (or wine).
 *
 * Loaded on first use, on Windows only: requiring koffi costs a few ms and maps a 1.6 MB library.
 */
import type * as Koffi from 'koffi';
import { loadKoffi } from '../platform/koffi.js';

/** GetExtendedTcpTable's TCP_TABLE_CLASS values used here. */
export const TCP_TABLE_OWNER_PID_LISTENER = 3;
export const TCP_TABLE_OWNER_PID_CONNECTIONS = 4;
export const TCP_TABLE_OWNER_PID_ALL = 5;
export const AF_INET = 2;
export const AF_INET6 = 23;

const NO_ERROR = 0;
const ERROR_INSUFFICIENT_BUFFER = 122;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const TOKEN_QUERY = 0x0008;
const TOKEN_USER_CLASS = 1;

/** Who runs a process, as far as this process may know. */
export type ProcessOwner =
  | { ok: true; sid: string; session: number | undefined; user?: string }
  /** OpenProcess / OpenProcessToken / GetTokenInformation failed: `step` and Windows' error code. */
  | { ok: false; step: 'open-process' | 'open-token' | 'token-user' | 'sid-string'; error: number };

export interface Win32Sockets {
  /** The raw MIB_TCPTABLE_OWNER_PID (af 2) or MIB_TCP6TABLE_OWNER_PID (af 23), or the error code. */
  tcpTable(af: typeof AF_INET | typeof AF_INET6, tableClass: number): Buffer | number;
  /** The same, read on a worker thread (the table of a terminal server holds every user's connections). */
  tcpTableAsync(af: typeof AF_INET | typeof AF_INET6, tableClass: number): Promise<Buffer | number>;
  /** The user SID (and session) of process `pid`; with `name`, the DOMAIN\user it stands for. */
  processOwner(pid: number, name?: boolean): ProcessOwner;
  readonly selfPid: number;
}

type Fn = Koffi.KoffiFunction;
/** What is used of koffi (the module as `import koffi from 'koffi'` or require gives it). */
export type KoffiApi = Pick<typeof Koffi, 'load' | 'alloc' | 'decode' | 'free'>;

interface Bound {
  koffi: KoffiApi;
  GetExtendedTcpTable: Fn;
  OpenProcess: Fn;
  CloseHandle: Fn;
  GetLastError: Fn;
  ProcessIdToSessionId: Fn;
  OpenProcessToken: Fn;
  GetTokenInformation: Fn;
  ConvertSidToStringSidW: Fn;
  LookupAccountSidW: Fn;
  LocalFree: Fn;
}

let bound: Bound | undefined;

function bind(given?: KoffiApi): Bound {
  if (bound) return bound;
  const koffi = given ?? loadKoffi();
  const iphlpapi = koffi.load('iphlpapi.dll');
  const kernel32 = koffi.load('kernel32.dll');
  const advapi32 = koffi.load('advapi32.dll');
  bound = {
    koffi,
    GetExtendedTcpTable: iphlpapi.func(
      'uint32 __stdcall GetExtendedTcpTable(_Out_ void *table, _Inout_ uint32 *size, int order, uint32 af, int tableClass, uint32 reserved)',
    ),
    OpenProcess: kernel32.func('void * __stdcall OpenProcess(uint32 access, int inherit, uint32 pid)'),
    CloseHandle: kernel32.func('int __stdcall CloseHandle(void *h)'),
    GetLastError: kernel32.func('uint32 __stdcall GetLastError()'),
    ProcessIdToSessionId: kernel32.func('int __stdcall ProcessIdToSessionId(uint32 pid, _Out_ uint32 *session)'),
    LocalFree: kernel32.func('void * __stdcall LocalFree(void *mem)'),
    OpenProcessToken: advapi32.func('int __stdcall OpenProcessToken(void *process, uint32 access, _Out_ void **token)'),
    GetTokenInformation: advapi32.func('int __stdcall GetTokenInformation(void *token, int cls, void *info, uint32 length, _Out_ uint32 *returned)'),
    ConvertSidToStringSidW: advapi32.func('int __stdcall ConvertSidToStringSidW(void *sid, _Out_ void **text)'),
    LookupAccountSidW: advapi32.func(
      'int __stdcall LookupAccountSidW(const char16_t *system, void *sid, _Out_ char16_t *name, _Inout_ uint32 *nameLength, _Out_ char16_t *domain, _Inout_ uint32 *domainLength, _Out_ uint32 *use)',
    ),
  };
  return bound;
}

function tcpTable(af: number, tableClass: number): Buffer | number {
  const b = bind();
  let size = 16 * 1024;
  // The table may grow between the size query and the read: ask again with the new size.
  for (let attempt = 0; attempt < 5; attempt++) {
    const buf = Buffer.alloc(size);
    const inout = [size];
    const rc = b.GetExtendedTcpTable(buf, inout, 0, af, tableClass, 0) as number;
    if (rc === NO_ERROR) return buf.subarray(0, Math.min(inout[0]!, size));
    if (rc !== ERROR_INSUFFICIENT_BUFFER) return rc;
    size = Math.max(inout[0]!, size) + 4096;
  }
  return ERROR_INSUFFICIENT_BUFFER;
}

function callAsync(fn: Fn, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, rc: number) =>
      err ? reject(err instanceof Error ? err : new Error(typeof err === 'string' ? err : 'the call failed')) : resolve(rc),
    );
  });
}

async function tcpTableAsync(af: number, tableClass: number): Promise<Buffer | number> {
  const b = bind();
  let size = 16 * 1024;
  for (let attempt = 0; attempt < 5; attempt++) {
    const buf = Buffer.alloc(size);
    const inout = [size];
    const rc = await callAsync(b.GetExtendedTcpTable, buf, inout, 0, af, tableClass, 0);
    if (rc === NO_ERROR) return buf.subarray(0, Math.min(inout[0]!, size));
    if (rc !== ERROR_INSUFFICIENT_BUFFER) return rc;
    size = Math.max(inout[0]!, size) + 4096;
  }
  return ERROR_INSUFFICIENT_BUFFER;
}

function stringSid(b: Bound, sid: unknown): string | undefined {
  const out: unknown[] = [null];
  if (!b.ConvertSidToStringSidW(sid, out) || !out[0]) return undefined;
  try {
    return b.koffi.decode(out[0], 'char16_t', -1) as string;
  } finally {
    b.LocalFree(out[0]);
  }
}

function accountName(b: Bound, sid: unknown): string | undefined {
  const name = Buffer.alloc(512);
  const domain = Buffer.alloc(512);
  const nameLen = [256];
  const domainLen = [256];
  const use = [0];
  if (!b.LookupAccountSidW(null, sid, name, nameLen, domain, domainLen, use)) return undefined;
  const n = name.toString('utf16le', 0, nameLen[0]! * 2);
  const d = domain.toString('utf16le', 0, domainLen[0]! * 2);
  return d ? `${d}\\${n}` : n;
}

function processOwner(pid: number, withName = false): ProcessOwner {
  const b = bind();
  const session = [0];
  const sessionKnown = !!b.ProcessIdToSessionId(pid, session);
  const proc: unknown = b.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
  if (!proc) return { ok: false, step: 'open-process', error: b.GetLastError() as number };
  try {
    const tok: unknown[] = [null];
    if (!b.OpenProcessToken(proc, TOKEN_QUERY, tok) || !tok[0]) return { ok: false, step: 'open-token', error: b.GetLastError() as number };
    // TOKEN_USER: a pointer to the SID (which follows it in the same block) and its attributes.
    const info: unknown = b.koffi.alloc('uint8_t', 256);
    try {
      const got = [0];
      if (!b.GetTokenInformation(tok[0], TOKEN_USER_CLASS, info, 256, got)) return { ok: false, step: 'token-user', error: b.GetLastError() as number };
      const sidPtr = b.koffi.decode(info, 'void *') as unknown;
      const sid = stringSid(b, sidPtr);
      if (!sid) return { ok: false, step: 'sid-string', error: b.GetLastError() as number };
      const user = withName ? accountName(b, sidPtr) : undefined;
      return { ok: true, sid, session: sessionKnown ? session[0] : undefined, ...(user ? { user } : {}) };
    } finally {
      b.koffi.free(info);
      b.CloseHandle(tok[0]);
    }
  } finally {
    b.CloseHandle(proc);
  }
}

/** The real calls (Windows only: loading them elsewhere throws). `koffi`: the module, when the caller has it. */
export function win32Sockets(koffi?: KoffiApi): Win32Sockets {
  bind(koffi);
  return { tcpTable, tcpTableAsync, processOwner, selfPid: process.pid };
}
