/**
 * The DLLs a Windows PE file (an .exe, a .dll, a .node addon) imports, read from its import and
 * delay-import tables: enough to tell whether it needs a DLL a clean Windows lacks
 * (VCRUNTIME140.dll, MSVCP140.dll, the Visual C++ runtime).
 */
import fs from 'node:fs';

export function peImports(file: string): string[] {
  const b = fs.readFileSync(file);
  const pe = b.readUInt32LE(0x3c);
  if (b.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new Error(`${file}: not a PE file`);
  const sections = b.readUInt16LE(pe + 6);
  const optSize = b.readUInt16LE(pe + 20);
  const opt = pe + 24;
  const magic = b.readUInt16LE(opt);
  // The data directories follow the fixed part of the optional header (PE32: 96 bytes, PE32+: 112).
  const dirs = opt + (magic === 0x20b ? 112 : 96);
  const dir = (i: number) => ({ rva: b.readUInt32LE(dirs + i * 8), size: b.readUInt32LE(dirs + i * 8 + 4) });
  const table = opt + optSize;
  const offset = (rva: number): number => {
    for (let i = 0; i < sections; i++) {
      const s = table + i * 40;
      const va = b.readUInt32LE(s + 12);
      const size = Math.max(b.readUInt32LE(s + 8), b.readUInt32LE(s + 16));
      if (rva >= va && rva < va + size) return rva - va + b.readUInt32LE(s + 20);
    }
    throw new Error(`${file}: RVA ${rva.toString(16)} is in no section`);
  };
  const name = (rva: number) => {
    const at = offset(rva);
    return b.toString('latin1', at, b.indexOf(0, at));
  };
  const names: string[] = [];
  const imports = dir(1);
  for (let d = imports.rva ? offset(imports.rva) : -1; d >= 0 && b.readUInt32LE(d + 12) !== 0; d += 20) names.push(name(b.readUInt32LE(d + 12)));
  const delayed = dir(13);
  for (let d = delayed.rva ? offset(delayed.rva) : -1; d >= 0 && b.readUInt32LE(d + 4) !== 0; d += 32) names.push(name(b.readUInt32LE(d + 4)));
  return names;
}
