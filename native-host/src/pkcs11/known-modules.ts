/**
 * PKCS#11 drivers of the tokens Romanian qualified trust service providers hand out, and the
 * generic ones, with their usual install paths. Sources and confidence: docs/pkcs11-modules.md.
 * Users with another driver give its path (`--module`, or `modules --add`, kept in
 * `pkcs11Modules` in config.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '#shared/errors.js';
import type { KnownModule } from '#shared/schemas/pkcs11.js';

export interface ModuleEntry {
  id: string;
  name: string;
  usedBy: string[];
  /** How well public sources back the paths and who uses it (docs/pkcs11-modules.md). */
  confidence: 'confirmed' | 'likely' | 'unconfirmed';
  paths: Partial<Record<'win32' | 'darwin' | 'linux', string[]>>;
}

export const KNOWN_MODULES: ModuleEntry[] = [
  {
    id: 'safenet-sac',
    name: 'SafeNet Authentication Client (eToken 5100/5110/5300, eToken Pro)',
    usedBy: ['certSIGN', 'DigiSign', 'AlfaTrust'],
    confidence: 'confirmed',
    paths: {
      win32: ['C:\\Windows\\System32\\eTPKCS11.dll', 'C:\\Windows\\SysWOW64\\eTPKCS11.dll', 'C:\\Windows\\System32\\eToken.dll'],
      darwin: ['/usr/local/lib/libeTPkcs11.dylib', '/Library/Frameworks/eToken.framework/Versions/Current/libeToken.dylib'],
      linux: ['/usr/lib/libeTPkcs11.so', '/usr/lib/libeToken.so', '/usr/lib64/libeToken.so'],
    },
  },
  {
    id: 'thales-idprime',
    name: 'IDPrime PKCS#11 (SAC 10.8+ / IDGo 800) for IDPrime MD cards and eToken 5110 CC/FIPS',
    usedBy: [],
    confidence: 'likely',
    paths: {
      win32: [
        'C:\\Program Files\\SafeNet\\Authentication\\SAC\\x64\\IDPrimePKCS1164.dll',
        'C:\\Program Files (x86)\\SafeNet\\Authentication\\SAC\\x32\\IDPrimePKCS11.dll',
        'C:\\Program Files\\Gemalto\\IDGo 800 PKCS#11\\IDPrimePKCS1164.dll',
        'C:\\Program Files (x86)\\Gemalto\\IDGo 800 PKCS#11\\IDPrimePKCS11.dll',
      ],
      darwin: [
        '/usr/local/lib/libIDPrimePKCS11.dylib',
        '/Library/Frameworks/eToken.framework/Versions/A/libIDPrimePKCS11.dylib',
        '/usr/local/lib/libidprimepkcs11.0.dylib',
      ],
      linux: ['/usr/lib/libIDPrimePKCS11.so', '/usr/lib64/libIDPrimePKCS11.so'],
    },
  },
  {
    id: 'bit4id-xpki',
    name: 'Bit4id Universal Middleware / PKI Manager (xpki)',
    usedBy: ['certSIGN', 'Cert Digital'],
    confidence: 'likely',
    paths: {
      win32: ['C:\\Windows\\System32\\bit4xpki.dll', 'C:\\Windows\\SysWOW64\\bit4xpki.dll'],
      darwin: ['/Library/bit4id/pkcs11/libbit4xpki.dylib', '/Applications/PKIManager-bit4id.app/Contents/Resources/etc/libbit4xpki.dylib'],
      linux: ['/usr/lib/bit4id/libbit4xpki.so', '/usr/lib/libbit4xpki.so'],
    },
  },
  {
    id: 'bit4id-legacy',
    name: 'Bit4id legacy modules (ipki / opki)',
    usedBy: [],
    confidence: 'likely',
    paths: {
      win32: ['C:\\Windows\\System32\\bit4ipki.dll', 'C:\\Windows\\System32\\bit4opki.dll'],
      darwin: ['/Library/bit4id/pkcs11/libbit4ipki.dylib'],
      linux: ['/usr/lib/bit4id/libbit4opki.so', '/usr/lib/libbit4ipki.so'],
    },
  },
  {
    id: 'idemia-awp',
    name: 'AuthentIC Web Pack (AWP), Cosmo cards/tokens',
    usedBy: ['certSIGN'],
    confidence: 'likely',
    paths: {
      win32: ['C:\\Windows\\System32\\OcsCryptoki.dll', 'C:\\Program Files\\IDEMIA\\AWP\\DLLs\\OcsCryptoki.dll'],
      darwin: ['/Library/AWP/lib/libOcsCryptoki.dylib'],
      linux: ['/usr/local/AWP/lib/libOcsCryptoki.so'],
    },
  },
  {
    id: 'idemia-idplug-ro-cei',
    name: 'IDPlug Classic / IDPlugManager (Romanian eID card, CEI)',
    usedBy: ['MAI (CEI)'],
    confidence: 'likely',
    paths: {
      win32: ['C:\\Program Files\\IDEMIA\\IDPlugClassic\\DLLs\\idplug-pkcs11.dll', 'C:\\Program Files (x86)\\IDEMIA\\IDPlugClassic\\DLLs\\idplug-pkcs11.dll'],
      darwin: ['/Applications/IDplugManager.app/Contents/Frameworks/libidplug-pkcs11.dylib'],
      linux: ['/usr/lib/idplugclassic/libidplug-pkcs11.so'],
    },
  },
  {
    id: 'opensc',
    name: 'OpenSC',
    usedBy: [],
    confidence: 'confirmed',
    paths: {
      win32: [
        'C:\\Program Files\\OpenSC Project\\OpenSC\\pkcs11\\opensc-pkcs11.dll',
        'C:\\Program Files (x86)\\OpenSC Project\\OpenSC\\pkcs11\\opensc-pkcs11.dll',
        'C:\\Windows\\System32\\opensc-pkcs11.dll',
      ],
      darwin: ['/Library/OpenSC/lib/opensc-pkcs11.so', '/Library/OpenSC/lib/pkcs11/opensc-pkcs11.so'],
      linux: [
        '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so',
        '/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so',
        '/usr/lib64/opensc-pkcs11.so',
        '/usr/lib/opensc-pkcs11.so',
      ],
    },
  },
  {
    id: 'feitian-epass2003',
    name: 'ePass2003 client (Castle)',
    usedBy: ['DigiSign'],
    confidence: 'likely',
    paths: {
      win32: ['C:\\Windows\\System32\\eps2003csp11.dll'],
      darwin: ['/usr/local/lib/libcastle.1.0.0.dylib'],
      linux: ['/usr/lib/libcastle.so.1.0.0'],
    },
  },
  {
    id: 'athena-idprotect',
    name: 'IDProtect',
    usedBy: [],
    confidence: 'likely',
    paths: {
      win32: ['C:\\Windows\\System32\\asepkcs.dll'],
      darwin: ['/Library/Application Support/Athena/libASEP11.dylib'],
      linux: ['/usr/lib/x64-athena/libASEP11.so'],
    },
  },
  {
    id: 'acpkcs211',
    name: "unknown (labelled 'Athena' by one source; file name suggests ACS)",
    usedBy: ['certSIGN'],
    confidence: 'unconfirmed',
    paths: {
      win32: ['C:\\Windows\\System32\\acpkcs211.dll'],
      linux: ['/usr/lib/libacpkcs211.so'],
    },
  },
  {
    id: 'charismathics',
    name: 'CSSI / cmP11',
    usedBy: [],
    confidence: 'likely',
    paths: {
      win32: ['C:\\Windows\\System32\\cmP1164.dll', 'C:\\Windows\\SysWOW64\\cmP11.dll', 'C:\\Program Files\\Charismathics\\PKCS11\\cmP1164.dll'],
      darwin: ['/Applications/Charismathics/libcmP11.dylib'],
      linux: ['/usr/lib/libcmP11.so'],
    },
  },
  {
    id: 'softhsm2',
    name: 'SoftHSM 2 (software token, for tests)',
    usedBy: [],
    confidence: 'confirmed',
    paths: {
      win32: ['C:\\SoftHSM2\\lib\\softhsm2-x64.dll', 'C:\\Program Files\\SoftHSM2\\lib\\softhsm2-x64.dll'],
      darwin: ['/opt/homebrew/lib/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'],
      linux: ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'],
    },
  },
];

/** Every known path for this platform, with whether a file is there. */
export function knownModules(platform = process.platform, exists: (p: string) => boolean = fs.existsSync): KnownModule[] {
  const key = platformKey(platform);
  const seen = new Set<string>();
  const out: KnownModule[] = [];
  for (const m of KNOWN_MODULES) {
    for (const p of m.paths[key] ?? []) {
      // A 64-bit host cannot load a 32-bit driver: skip the 32-bit copies on Windows.
      if (key === 'win32' && /SysWOW64|\(x86\)|\\x32\\/i.test(p)) continue;
      // /usr/lib and /usr/lib64 are often the same folder: list a real file once.
      const real = exists(p) ? safeRealpath(p) : p;
      if (seen.has(real)) continue;
      seen.add(real);
      out.push({ id: m.id, name: m.name, usedBy: m.usedBy, path: p, installed: exists(p) });
    }
  }
  return out;
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

export function nameForPath(p: string): string | undefined {
  const base = path.basename(p).toLowerCase();
  return KNOWN_MODULES.find((m) => Object.values(m.paths).some((list) => list?.some((q) => path.basename(q).toLowerCase() === base)))?.name;
}

/** The modules to look at: the user's own first, then every known one that is installed. */
export function modulesToScan(userModules: string[], platform = process.platform): string[] {
  const installed = knownModules(platform)
    .filter((m) => m.installed)
    .map((m) => m.path);
  return [...new Set([...userModules, ...installed])];
}

const platformKey = (platform: NodeJS.Platform) => (platform === 'win32' || platform === 'darwin' ? platform : 'linux');

/**
 * May a native message name this driver? Loading a library runs its code in our worker, so the
 * browser (or whatever speaks for an allowed extension) may name only a known path of this
 * platform or one the user configured (`modules --add`). Compared as exact strings
 * (case-insensitive on Windows): the same file spelled another way ("..", a link) is refused.
 */
export function isAllowedModule(p: string, configured: readonly string[], platform = process.platform): boolean {
  const norm = (s: string) => (platform === 'win32' ? s.toLowerCase() : s);
  const wanted = norm(p);
  const known = KNOWN_MODULES.flatMap((m) => m.paths[platformKey(platform)] ?? []);
  return [...known, ...configured].some((q) => norm(q) === wanted);
}

/** Refuses the whole request, before any library is loaded, when one path is not allowed. */
export function refuseUnknownModules(paths: readonly string[], configured: readonly string[], platform = process.platform): void {
  const unknown = paths.filter((p) => !isAllowedModule(p, configured, platform));
  if (unknown.length)
    throw new AppError(
      'PKCS11_MODULE_NOT_ALLOWED',
      unknown
        .map((p) => JSON.stringify(p.slice(0, 200)))
        .join(', ')
        .slice(0, 600),
    );
}
